"""Containers in the object store, as Cinder's swift backup driver keeps backups.

The containers (``backup_swift_container``, ``volumebackups`` by default, or the one a
backup request names) live in the volume service's own account (``AUTH_<service
project>``), reached with the service's credentials through
:class:`~tinystack.common.clients.object_store.ObjectStoreClient`. The chunked driver's
objects map one to one onto Swift objects (names with ``/`` are Swift names as they
are): the chunks, ``<prefix>_sha256file`` and ``<prefix>_metadata``. Each object is
PUT whole with its md5 as ``ETag``, so the object store refuses a corrupted upload
(422) and a PUT cut short stores nothing: a reader sees the old object or the new one.
Errors of the object store become :class:`~tinystack.volume.backup.base.BackupError`.
"""

from __future__ import annotations

import mmap
import threading

from tinystack.common.clients.object_store import ObjectStoreClient
from tinystack.common.clients.session import ClientError, ClientNotFound
from tinystack.volume.backup.base import (
    BackupError,
    ObjectContainer,
    ObjectNotFound,
    ObjectStore,
)


def _failed(what: str, exc: ClientError) -> BackupError:
    return BackupError(f"object store: {what}: {exc.message} ({exc.status})")


class SwiftContainer(ObjectContainer):
    def __init__(self, client: ObjectStoreClient, name: str) -> None:
        self.client = client
        self.name = name

    def put_object(self, name: str, data: bytes | memoryview) -> None:
        try:
            self.client.put_object(self.name, name, data)
        except ClientError as exc:
            raise _failed(f"cannot store {self.name}/{name}", exc) from exc

    def get_object(self, name: str) -> bytes:
        try:
            return self.client.get_object(self.name, name)
        except ClientNotFound as exc:
            raise ObjectNotFound(f"no object {name} in container {self.name}") from exc
        except ClientError as exc:
            raise _failed(f"cannot read {self.name}/{name}", exc) from exc

    def read_object(self, name: str, buffer: bytearray | mmap.mmap) -> memoryview:
        try:
            return self.client.read_object_into(self.name, name, buffer)
        except ClientNotFound as exc:
            raise ObjectNotFound(f"no object {name} in container {self.name}") from exc
        except ClientError as exc:
            raise _failed(f"cannot read {self.name}/{name}", exc) from exc

    def delete_object(self, name: str) -> None:
        try:
            self.client.delete_object(self.name, name)
        except ClientError as exc:
            raise _failed(f"cannot delete {self.name}/{name}", exc) from exc

    def list_objects(self, prefix: str = "") -> list[str]:
        try:
            return [entry.name for entry in self.client.list_objects(self.name, prefix)]
        except ClientNotFound:
            return []
        except ClientError as exc:
            raise _failed(f"cannot list {self.name}", exc) from exc


class SwiftObjectStore(ObjectStore):
    """The service's account in the object store."""

    def __init__(self, client: ObjectStoreClient) -> None:
        self.client = client
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def container(self, name: str, create: bool = True) -> ObjectContainer:
        if not name or "/" in name:
            raise ValueError(f"bad container name {name!r}")
        with self._lock:
            known = name in self._known
        if not known:
            try:
                exists = self.client.container_exists(name)
                if not exists and create:
                    self.client.create_container(name)
                elif not exists:
                    raise ObjectNotFound(f"no container {name}")
            except ClientError as exc:
                raise _failed(f"container {name}", exc) from exc
            with self._lock:
                self._known.add(name)
        return SwiftContainer(self.client, name)
