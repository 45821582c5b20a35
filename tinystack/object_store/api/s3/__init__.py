"""The S3 API on the proxy's port (``dispatch.py`` takes the requests that carry an AWS
signature; ``router.py`` is the operation table; handlers per resource: ``buckets.py``,
``objects.py``, ``multipart.py``; ``documents.py`` the XML; ``acl.py`` ACL documents).
The logic is in ``services/s3``."""
