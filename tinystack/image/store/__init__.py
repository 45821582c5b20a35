"""Image data stores: where image bytes live (a file store today; object store and RBD later)."""

from tinystack.image.store.base import DataReader, Store, StoreWriter
from tinystack.image.store.file import FileStore

__all__ = ["DataReader", "FileStore", "Store", "StoreWriter"]
