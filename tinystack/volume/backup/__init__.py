"""Volume backups: the driver contract (``base.py``), Cinder's chunked format
(``chunked.py``) and where the objects live, behind one ``ObjectStore`` interface:
``posix.py`` a directory, ``swift.py`` containers in the object store (the default when
the cloud runs one, ``[volume] backup_driver``); ``worker.py`` makes a driver per store
and ``manager.py`` uses the one a backup's ``service`` names."""
