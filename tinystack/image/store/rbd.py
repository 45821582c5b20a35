"""A store in a Ceph cluster (Glance's ``rbd`` store): an RBD image per image.

Image data lives in the pool ``rbd_store_pool`` (``images``) as an RBD image named by the
image id, reached as the cephx user ``rbd_store_user`` with the operator's
``rbd_store_ceph_conf`` (monitors and keyring: the key is never an option here). As
Glance writes one, an upload grows the RBD image as the bytes come, then on commit takes
the snapshot ``snap`` and protects it: that snapshot is what the block storage and
compute services clone copy-on-write (a volume or a root disk from the image costs no
copy). The location is ``rbd://<cluster fsid>/<pool>/<image>/snap``, which those services
recognise as a clone source in their own cluster (``direct_url`` /
``locations`` when the operator shows them).

Reads open the snapshot (what was committed, whatever happens to the head). An aborted
upload removes the RBD image. Deleting a location unprotects and removes the snapshot
and the image; while clones depend on the snapshot the data stays and :meth:`in_use`
says so, so the image service refuses the delete with 409 as Glance does (``InUseByStore``)
rather than leave the clones' parent behind.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlparse

from tinystack.common import ceph
from tinystack.image.store.base import DataNotFound, DataReader, Store, StoreError, StoreWriter

MiB = 1024 * 1024
SNAPSHOT = "snap"
#: how much an image grows at a time while an upload streams in
GROWTH = 64 * MiB


def parse_location(location: str) -> tuple[str, str, str, str]:
    """``rbd://fsid/pool/image/snap`` -> (fsid, pool, image, snap)."""
    parsed = urlparse(location)
    if parsed.scheme != "rbd":
        raise StoreError(f"not an rbd location: {location}")
    parts = [unquote(p) for p in (parsed.netloc + parsed.path).split("/")]
    if len(parts) != 4 or not all(parts):
        raise StoreError(f"not an rbd://fsid/pool/image/snapshot location: {location}")
    fsid, pool, image, snap = parts
    return fsid, pool, image, snap


class _Cluster(ceph.Connection):
    """The store's connection; failures become :class:`StoreError`."""

    def ioctx(self, pool: str) -> Any:
        try:
            return super().ioctx(pool)
        except Exception as exc:
            raise StoreError(f"cannot open pool {pool} of the Ceph cluster: {exc}") from exc

    def fsid(self) -> str:
        try:
            return super().fsid()
        except Exception as exc:
            raise StoreError(f"cannot reach the Ceph cluster: {exc}") from exc


class RbdWriter(StoreWriter):
    def __init__(self, store: RbdStore, key: str) -> None:
        self._store = store
        self._key = key
        self._io = store.cluster.ioctx(store.pool)
        rbd = ceph.bindings().rbd
        try:
            rbd.RBD().create(self._io, key, 0, old_format=False, features=None)
            self._image: Any = rbd.Image(self._io, key)
        except Exception as exc:
            self._io.close()
            raise StoreError(f"cannot create rbd image {key}: {exc}") from exc
        self._offset = 0
        self._capacity = 0
        self._done = False

    def write(self, chunks: Iterable[bytes]) -> None:
        if self._done:
            raise StoreError("the writer is closed")
        try:
            for chunk in chunks:
                end = self._offset + len(chunk)
                if end > self._capacity:
                    self._capacity = max(end, self._capacity + GROWTH)
                    self._image.resize(self._capacity)
                self._image.write(bytes(chunk), self._offset)
                self._offset = end
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"rbd image {self._key}: write failed: {exc}") from exc

    def commit(self) -> str:
        if self._done:
            raise StoreError("the writer is closed")
        try:
            self._image.resize(self._offset)
            self._image.flush()
            self._image.create_snap(SNAPSHOT)
            self._image.protect_snap(SNAPSHOT)
        except Exception as exc:
            raise StoreError(f"rbd image {self._key}: commit failed: {exc}") from exc
        finally:
            self._close()
        return self._store.location(self._key)

    def _close(self) -> None:
        if not self._done:
            self._done = True
            self._image.close()
            self._io.close()

    def abort(self) -> None:
        if self._done:
            return
        self._close()
        self._store.remove(self._key)


class RbdReader(DataReader):
    def __init__(
        self, store: RbdStore, pool: str, name: str, snap: str, offset: int, length: int | None
    ) -> None:
        rbd = ceph.bindings().rbd
        self._io = store.cluster.ioctx(pool)
        try:
            self._image: Any = rbd.Image(self._io, name, snapshot=snap, read_only=True)
        except rbd.ImageNotFound:
            self._io.close()
            raise DataNotFound(f"rbd image {pool}/{name}@{snap}") from None
        except Exception as exc:
            self._io.close()
            raise StoreError(f"cannot open rbd image {pool}/{name}: {exc}") from exc
        total = int(self._image.size())
        self.size = max(0, total - offset) if length is None else length
        self._offset = offset
        self._remaining = self.size
        self._chunk = store.chunk_size
        self._closed = False

    def read(self) -> bytes:
        if self._remaining <= 0:
            return b""
        try:
            chunk = bytes(self._image.read(self._offset, min(self._chunk, self._remaining)))
        except Exception as exc:
            raise StoreError(f"rbd read failed: {exc}") from exc
        if not chunk:
            raise StoreError("the stored data ended early")
        self._offset += len(chunk)
        self._remaining -= len(chunk)
        return chunk

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._image.close()
            self._io.close()


class RbdStore(Store):
    type = "rbd"

    def __init__(
        self,
        spec: ceph.ClusterSpec,
        *,
        pool: str = "images",
        store_id: str = "rbd",
        description: str = "RBD store",
        weight: int = 0,
        chunk_size: int = 8 * MiB,
    ) -> None:
        self.id = store_id
        self.description = description
        self.weight = weight
        self.pool = pool
        self.chunk_size = chunk_size
        self.cluster = _Cluster(spec)

    def properties(self) -> dict[str, object]:
        return {"pool": self.pool, "chunk_size": self.chunk_size, "user": self.cluster.spec.user}

    def location(self, key: str) -> str:
        return f"rbd://{self.cluster.fsid()}/{self.pool}/{key}/{SNAPSHOT}"

    def _parse(self, location: str) -> tuple[str, str, str]:
        fsid, pool, name, snap = parse_location(location)
        if pool != self.pool or fsid != self.cluster.fsid():
            raise StoreError(f"location outside the store: {location}")
        return pool, name, snap

    def handles(self, location: str) -> bool:
        if not location.startswith("rbd://"):
            return False
        try:
            self._parse(location)
        except StoreError:
            return False
        return True

    def open_writer(self, key: str) -> StoreWriter:
        if not key or "/" in key or "@" in key:
            raise StoreError(f"invalid key {key!r}")
        return RbdWriter(self, key)

    def open_reader(self, location: str, offset: int = 0, length: int | None = None) -> DataReader:
        pool, name, snap = self._parse(location)
        return RbdReader(self, pool, name, snap, offset, length)

    def size(self, location: str) -> int:
        reader = self.open_reader(location)
        try:
            return reader.size
        finally:
            reader.close()

    def in_use(self, location: str) -> bool:
        """Whether clones (volumes, root disks) depend on the location's snapshot. The
        store's user may not read the clones' pools, so it asks as Glance does: an
        unprotect that the cluster refuses while clones exist (protected again after)."""
        pool, name, snap = self._parse(location)
        rbd = ceph.bindings().rbd
        io = self.cluster.ioctx(pool)
        try:
            with rbd.Image(io, name) as image:
                if not image.is_protected_snap(snap):
                    return False
                try:
                    image.unprotect_snap(snap)
                except rbd.ImageBusy:
                    return True
                image.protect_snap(snap)
                return False
        except rbd.ImageNotFound:
            return False
        except rbd.Error as exc:
            raise StoreError(f"rbd image {name}: {exc}") from exc
        finally:
            io.close()

    def delete(self, location: str) -> None:
        _pool, name, _snap = self._parse(location)
        self.remove(name)

    def remove(self, name: str) -> None:
        """Unprotect and remove the image's snapshots, then the image; absent is fine."""
        rbd = ceph.bindings().rbd
        io = self.cluster.ioctx(self.pool)
        try:
            try:
                with rbd.Image(io, name) as image:
                    for snap in list(image.list_snaps()):
                        if image.is_protected_snap(snap["name"]):
                            image.unprotect_snap(snap["name"])
                        image.remove_snap(snap["name"])
            except rbd.ImageNotFound:
                pass  # none, or a create killed half-way that only a remove clears
            except rbd.ImageBusy as exc:
                raise StoreError(f"rbd image {name} has clones: {exc}") from exc
            try:
                rbd.RBD().remove(io, name)
            except rbd.ImageNotFound:
                return
            except Exception as exc:
                raise StoreError(f"cannot remove rbd image {name}: {exc}") from exc
        finally:
            io.close()
