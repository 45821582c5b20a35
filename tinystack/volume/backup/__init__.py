"""Volume backups: the driver contract (``base.py``), Cinder's chunked format
(``chunked.py``) and where the objects live (``posix.py`` a directory; the object store
comes with its own issue, behind the same ``ObjectStore`` interface)."""
