"""The S3 API's service layer over the proxy's services (accounts ``AUTH_<project>``,
containers as buckets, objects): ``signing.py`` (SigV2/SigV4 strings to sign),
``auth.py`` (identity's s3tokens, the secret cache), ``body.py`` (aws-chunked, digests,
additional checksums), ``buckets.py``, ``objects.py``, ``listing.py``, ``multipart.py``
and ``manifest.py`` (parts as segments, the object as an SLO manifest)."""
