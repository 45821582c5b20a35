"""The store driver interface.

A store keeps opaque byte strings under a *location* (a URL in the store's own
scheme, recorded on the image). Writes go through a :class:`StoreWriter` so a
failed or abandoned upload leaves nothing behind: data only becomes visible at
its location on :meth:`StoreWriter.commit`.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable


class StoreError(Exception):
    """A store could not read or write data."""


class DataNotFound(StoreError):
    """Nothing is stored at the location."""


class StoreWriter(abc.ABC):
    @abc.abstractmethod
    def write(self, chunks: Iterable[bytes]) -> None:
        """Append chunks, in order."""

    @abc.abstractmethod
    def commit(self) -> str:
        """Make the data durable and visible; return its location."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Discard everything written; safe to call more than once."""


class DataReader(abc.ABC):
    """A byte range of stored data, read in chunks from a worker thread."""

    size: int

    @abc.abstractmethod
    def read(self) -> bytes:
        """The next chunk, or b"" at the end of the range."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the underlying resources; safe to call more than once."""


class Store(abc.ABC):
    #: the store identifier shown in /v2/info/stores and the image's ``stores``
    id: str
    description: str
    #: the driver (``file``, ``http``; ``swift`` and ``cinder`` plug in the same way)
    type: str = "file"
    #: preference among stores when several hold an image (higher first), as upstream
    weight: int = 0
    #: a read-only store (http) serves locations but takes no uploads
    read_only: bool = False

    @abc.abstractmethod
    def handles(self, location: str) -> bool:
        """Whether ``location`` is data this store manages."""

    def properties(self) -> dict[str, object]:
        """What ``/v2/info/stores/detail`` shows about the store's configuration."""
        return {}

    @abc.abstractmethod
    def open_writer(self, key: str) -> StoreWriter:
        """Start writing the data for ``key`` (an image id)."""

    @abc.abstractmethod
    def open_reader(self, location: str, offset: int = 0, length: int | None = None) -> DataReader:
        """Open ``length`` bytes from ``offset`` (to the end when None) of stored data."""

    @abc.abstractmethod
    def size(self, location: str) -> int:
        """The stored data's size in bytes; raise :class:`DataNotFound` when absent."""

    def in_use(self, location: str) -> bool:
        """Whether something outside the image service depends on the data (clones of
        an rbd snapshot): the image may not be deleted then."""
        del location
        return False

    @abc.abstractmethod
    def delete(self, location: str) -> None:
        """Remove stored data; absent data is not an error."""

    def adopt(self, source: Store, location: str, key: str) -> str:
        """Take over data another store holds (staging -> store); return the new location.

        The generic version copies; stores sharing a medium override it to move.
        """
        reader = source.open_reader(location)
        writer = self.open_writer(key)
        try:
            while chunk := reader.read():
                writer.write((chunk,))
            new_location = writer.commit()
        except BaseException:
            writer.abort()
            raise
        finally:
            reader.close()
        source.delete(location)
        return new_location
