"""The contract between the volume manager and a backup driver, and the object storage
a chunked backup is written to.

The manager owns the backup rows and their states; the driver owns the stored bytes.
It reads a volume through ``VolumeDriver.open_volume`` (a file of the guest-visible
bytes) and writes objects to an ``ObjectContainer``, whose shape is Swift's: named
containers holding named objects (names may contain ``/``), written whole, listed by
prefix. A POSIX directory implements it now, the object store later.
"""

from __future__ import annotations

import abc
import mmap
from dataclasses import dataclass
from typing import BinaryIO


class BackupError(Exception):
    """The backup could not be made, restored or deleted; the message says why."""


class BackupHasDependents(BackupError):
    """Deleting a backup that incremental backups are based on (upstream: 400)."""


class BackupCorrupt(BackupError):
    """Stored data does not match its recorded hash, or an object is missing."""


class ObjectNotFound(BackupError):
    """No such object in the container."""


class ObjectContainer(abc.ABC):
    """One container of objects (a Swift container, a directory)."""

    name: str

    @abc.abstractmethod
    def put_object(self, name: str, data: bytes | memoryview) -> None:
        """Store ``data`` as object ``name`` (replacing it); atomic: a reader sees the
        old object or the new one, never a part."""

    @abc.abstractmethod
    def get_object(self, name: str) -> bytes:
        """The object's data; ObjectNotFound when it does not exist."""

    def read_object(self, name: str, buffer: bytearray | mmap.mmap) -> memoryview:
        """The object's data, read into ``buffer`` when it fits (containers that can
        avoid a fresh allocation per object override this); ObjectNotFound as above."""
        return memoryview(self.get_object(name))

    @abc.abstractmethod
    def delete_object(self, name: str) -> None:
        """Remove the object; a missing object is not an error."""

    @abc.abstractmethod
    def list_objects(self, prefix: str = "") -> list[str]:
        """The names of the objects that start with ``prefix``, sorted."""

    def discard_partials(self, prefix: str) -> None:
        """Remove what interrupted writes of objects named ``prefix...`` left behind (a
        kill -9 mid-write); stores whose writes are atomic have nothing to remove."""
        return None


class ObjectStore(abc.ABC):
    """Where containers live (an account in Swift terms)."""

    @abc.abstractmethod
    def container(self, name: str, create: bool = True) -> ObjectContainer:
        """The container ``name`` (made when ``create``)."""


@dataclass(frozen=True, slots=True)
class BackupRef:
    """What a backup driver knows of a backup row."""

    id: str
    volume_id: str
    #: the container the objects are in (upstream's ``backup.container``)
    container: str
    #: where in the container (upstream's ``service_metadata``: the object prefix);
    #: None until the backup has been made
    service_metadata: str | None = None
    name: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class BackupResult:
    """What a finished backup reports for its row."""

    container: str
    service_metadata: str
    #: bytes of volume data the backup covers (its volume's size)
    volume_bytes: int
    #: bytes actually stored (compressed objects, metadata not counted)
    stored_bytes: int
    object_count: int
    parent_id: str | None


class BackupDriver(abc.ABC):
    """A backup service. All calls are synchronous and may take long."""

    @abc.abstractmethod
    def backup(
        self, backup: BackupRef, volume_file: BinaryIO, size: int, parent: BackupRef | None = None
    ) -> BackupResult:
        """Back up ``size`` bytes of ``volume_file``; incremental on ``parent`` when
        given (only what changed since it is stored)."""

    @abc.abstractmethod
    def restore(self, backup: BackupRef, volume_file: BinaryIO, size: int) -> None:
        """Write the backup's data (its whole incremental chain resolved) into
        ``volume_file`` of ``size`` bytes, verifying every object's hash."""

    @abc.abstractmethod
    def delete_backup(self, backup: BackupRef) -> None:
        """Remove the backup's objects; BackupHasDependents when an incremental backup
        is based on it. Missing objects are not an error (a replay)."""

    @abc.abstractmethod
    def export_record(self, backup: BackupRef) -> str:
        """The backup's record as a JSON string (``backup-export``)."""

    @abc.abstractmethod
    def import_record(self, record: str) -> BackupRef:
        """Check an exported record against the stored objects; the backup it names."""
