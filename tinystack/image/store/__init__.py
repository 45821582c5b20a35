"""Image data stores: where image bytes live — ``file.py`` (a directory), ``swift.py`` (the
object store), ``cinder.py`` (a volume per image), ``http.py`` (read-only web locations);
``registry.py`` builds the enabled ones (``enabled_backends`` / ``default_store``)."""

from tinystack.image.store.base import DataReader, Store, StoreWriter
from tinystack.image.store.file import FileStore

__all__ = ["DataReader", "FileStore", "Store", "StoreWriter"]
