"""The ``ceph`` backup driver: backups as RBD images in a Ceph pool (Cinder's Ceph
backup driver).

A full backup is the RBD image ``volume-<volume id>.backup.<backup id>`` in the backup
pool (``backup_ceph_pool``, ``backups``) holding the volume's bytes (sparse: only what
the volume stores is written), with the snapshot ``backup.<backup id>.snap`` that is the
backup itself. When the volume is an RBD image (an ``rbd`` device), the same snapshot name
is also taken of the source volume and kept: an incremental backup then asks librbd for
what changed between the parent's source snapshot and a new one (``diff_iterate``:
``rbd export-diff`` / ``import-diff`` semantics, without the intermediate stream), writes
only that into the parent's backup image and snapshots it — so a chain of incrementals
is a chain of snapshots of one image, and the parent's source snapshot goes (only the
newest is needed). Without a usable base (a file volume, a snapshot backup, the parent's
source snapshot gone) an incremental backup is a full one, as upstream's.

A restore reads the backup's snapshot and writes what it holds, zeroing the rest: into
an RBD volume through librbd (same cluster), into anything else through the file the
backup service opened. The volume's own metadata rides in the RADOS object
``backup.<id>.meta`` of the pool.

Crash safety: the backup image (or, for an incremental, the base image's ``pending`` key)
and the source location (the key ``source.<backup id>``) are recorded before any data
moves, so :meth:`CephBackupDriver.delete_backup` of an interrupted backup — the
manager's clean-up, or the restart's — removes the image or rolls the base image back to
its newest snapshot and removes the source snapshot, knowing only the backup's and the
volume's ids. :meth:`remove_orphans` removes images, snapshots and metadata objects whose
backup no row knows.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

from tinystack.common import ceph
from tinystack.volume.backup.base import (
    BackupCorrupt,
    BackupError,
    BackupHasDependents,
    BackupRef,
    BackupResult,
)

LOG = logging.getLogger(__name__)
SERVICE = "cinder.backup.drivers.ceph.CephBackupDriver"
#: bytes copied per read/write
COPY_SIZE = 4 << 20
#: granularity of the zero detection of a file volume's backup
ZERO_BLOCK = 64 << 10
#: seconds an image removal waits for a killed writer's watch to expire
BUSY_TIMEOUT = 45.0
PENDING = "tinystack.pending"
SOURCE = "tinystack.source."


@dataclass(frozen=True, slots=True)
class RbdVolume:
    """An RBD image a backup reads or a restore writes, as an ``rbd`` connection info
    names it (opened as ``user`` with the backup service's ``ceph.conf``)."""

    user: str
    pool: str
    image: str
    #: a snapshot to read instead of the image (a backup of a volume snapshot)
    snap: str | None = None


def base_name(volume_id: str, backup_id: str) -> str:
    return f"volume-{volume_id}.backup.{backup_id}"


def snap_name(backup_id: str) -> str:
    return f"backup.{backup_id}.snap"


def _backup_id_of_snap(name: str) -> str | None:
    if name.startswith("backup.") and name.endswith(".snap"):
        return name[len("backup.") : -len(".snap")]
    return None


class CephBackupDriver:
    """Backups as RBD images and snapshots (see the module docstring)."""

    def __init__(self, spec: ceph.ClusterSpec, pool: str = "backups") -> None:
        self.spec = spec
        self.pool = pool
        self.cluster = ceph.Connection(spec)
        #: connections as the volumes' users (their keyrings through the same ceph.conf)
        self._sources: dict[str, ceph.Connection] = {}

    # -- plumbing --------------------------------------------------------------------------
    @property
    def _rbd(self) -> Any:
        return ceph.bindings().rbd

    def _connection(self, user: str) -> ceph.Connection:
        if user == self.spec.user:
            return self.cluster
        if user not in self._sources:
            self._sources[user] = ceph.Connection(
                ceph.ClusterSpec(
                    self.spec.conf_file, user, self.spec.connect_timeout, self.spec.op_timeout
                )
            )
        return self._sources[user]

    @contextmanager
    def _io(self, user: str | None = None, pool: str | None = None) -> Iterator[Any]:
        connection = self._connection(user or self.spec.user)
        try:
            ioctx = connection.ioctx(pool or self.pool)
        except Exception as exc:
            connection.close()
            raise BackupError(f"cannot open pool {pool or self.pool}: {exc}") from exc
        try:
            yield ioctx
        finally:
            ioctx.close()

    @contextmanager
    def _image(self, ioctx: Any, name: str, snap: str | None = None, ro: bool = False) -> Any:
        try:
            image = self._rbd.Image(ioctx, name, snapshot=snap, read_only=ro)
        except self._rbd.ImageNotFound:
            raise BackupCorrupt(f"rbd image {name}{'@' + snap if snap else ''} is gone") from None
        with image:
            yield image

    def close(self) -> None:
        self.cluster.close()
        for connection in self._sources.values():
            connection.close()

    @staticmethod
    def _snaps(image: Any) -> list[str]:
        return [s["name"] for s in image.list_snaps()]

    def _images(self, ioctx: Any, volume_id: str | None = None) -> list[str]:
        prefix = f"volume-{volume_id}.backup." if volume_id else "volume-"
        return sorted(n for n in self._rbd.RBD().list(ioctx) if n.startswith(prefix))

    # -- backup ----------------------------------------------------------------------------
    def backup(
        self, backup: BackupRef, volume_file: BinaryIO, size: int, parent: BackupRef | None = None
    ) -> BackupResult:
        """A full backup of a volume that is not an RBD image (its bytes in a file)."""
        del parent  # no base to diff against: upstream's non-RBD backups are full
        name, snap = base_name(backup.volume_id, backup.id), snap_name(backup.id)
        stored = 0
        with self._io() as ioctx:
            self._rbd.RBD().create(ioctx, name, size, old_format=False)
            with self._image(ioctx, name) as image:
                is_hole = getattr(volume_file, "is_zero_range", None)
                zero = memoryview(bytes(ZERO_BLOCK))
                for offset in range(0, size, COPY_SIZE):
                    length = min(COPY_SIZE, size - offset)
                    if is_hole is not None and is_hole(offset, length):
                        continue
                    volume_file.seek(offset)
                    data = memoryview(volume_file.read(length))
                    for start in range(0, len(data), ZERO_BLOCK):  # sparse: zeros stay holes
                        block = data[start : start + ZERO_BLOCK]
                        if block != zero[: len(block)]:
                            image.write(bytes(block), offset + start)
                            stored += len(block)
                image.flush()
                image.create_snap(snap)
        return self._result(backup, name, snap, size, stored, None)

    def backup_rbd(
        self, backup: BackupRef, source: RbdVolume, parent: BackupRef | None = None
    ) -> BackupResult:
        """A backup of an RBD volume: incremental (a snapshot diff) on ``parent`` when its
        base is usable, else full; ``source.snap`` given: a full backup of that snapshot."""
        snap = snap_name(backup.id)
        with self._io(source.user, source.pool) as src_io, self._io() as ioctx:
            base = self._incremental_base(ioctx, src_io, source, parent)
            name = base or base_name(backup.volume_id, backup.id)
            if base is None:
                with self._image(src_io, source.image, source.snap, ro=True) as src:
                    size = int(src.size())
                self._rbd.RBD().create(ioctx, name, size, old_format=False)
            with self._image(ioctx, name) as target:
                if base is not None:
                    target.metadata_set(PENDING, backup.id)
                read_snap = source.snap
                if read_snap is None:  # our own point in time, kept for the next incremental
                    target.metadata_set(SOURCE + backup.id, _location(source))
                    with self._image(src_io, source.image) as src:
                        if snap not in self._snaps(src):
                            src.create_snap(snap)
                    read_snap = snap
                from_snap = snap_name(parent.id) if base is not None and parent else None
                with self._image(src_io, source.image, read_snap, ro=True) as src:
                    size = int(src.size())
                    if int(target.size()) != size:
                        target.resize(size)
                    stored = _copy_diff(src, target, size, from_snap)
                target.flush()
                target.create_snap(snap)
                if base is not None:
                    target.metadata_remove(PENDING)
            if base is not None and parent is not None:  # only the newest base is kept
                self._drop_source_snap(ioctx, name, parent.id)
        return self._result(backup, name, snap, size, stored, parent if base else None)

    def _incremental_base(
        self, ioctx: Any, src_io: Any, source: RbdVolume, parent: BackupRef | None
    ) -> str | None:
        """The parent's backup image when a diff against it can be made, else None."""
        if parent is None or source.snap is not None or not parent.service_metadata:
            return None
        image, _, _snap = parent.service_metadata.partition("@")
        wanted = snap_name(parent.id)
        try:
            with self._image(ioctx, image, ro=True) as base:
                if wanted not in self._snaps(base):
                    return None
            with self._image(src_io, source.image, ro=True) as src:
                if wanted not in self._snaps(src):
                    LOG.info("backup base %s is gone from the volume: a full backup", wanted)
                    return None
        except BackupCorrupt:
            return None
        return image

    def _result(
        self, backup: BackupRef, name: str, snap: str, size: int, stored: int,
        parent: BackupRef | None,
    ) -> BackupResult:  # fmt: skip
        return BackupResult(
            container=self.pool,
            service_metadata=f"{name}@{snap}",
            volume_bytes=size,
            stored_bytes=stored,
            object_count=1,
            parent_id=parent.id if parent else None,
        )

    # -- restore ---------------------------------------------------------------------------
    def _located(self, ioctx: Any, backup: BackupRef) -> tuple[str, str]:
        """The backup's image and snapshot."""
        snap = snap_name(backup.id)
        if backup.service_metadata and "@" in backup.service_metadata:
            name, _, snap = backup.service_metadata.partition("@")
            return name, snap
        for name in self._images(ioctx, backup.volume_id):
            with self._image(ioctx, name, ro=True) as image:
                if snap in self._snaps(image):
                    return name, snap
        raise BackupCorrupt(f"backup {backup.id} has no snapshot in pool {self.pool}")

    def restore(self, backup: BackupRef, volume_file: BinaryIO, size: int) -> None:
        """Into a volume that is not an RBD image (its file), zeroing what the backup
        does not hold."""
        with self._io() as ioctx:
            name, snap = self._located(ioctx, backup)
            with self._image(ioctx, name, snap, ro=True) as image:
                length = int(image.size())
                if length > size:
                    raise BackupError(f"the backup holds {length} bytes, the volume only {size}")
                zeroes = getattr(volume_file, "write_zeroes", None)
                position = 0
                for offset, count in [*_data(image, length), (size, 0)]:
                    if offset > position:  # a gap: zeros
                        volume_file.seek(position)
                        if zeroes is not None:
                            zeroes(offset - position)
                        else:
                            _write_zeros(volume_file, offset - position)
                    for start in range(offset, offset + count, COPY_SIZE):
                        volume_file.seek(start)
                        volume_file.write(image.read(start, min(COPY_SIZE, offset + count - start)))
                    position = offset + count
        volume_file.flush()

    def restore_rbd(self, backup: BackupRef, target: RbdVolume, new_volume: bool) -> None:
        """Into an RBD volume of the same cluster, through librbd (a new volume is known
        to be zeros: only data is written)."""
        with self._io() as ioctx, self._io(target.user, target.pool) as dst_io:
            name, snap = self._located(ioctx, backup)
            with (
                self._image(ioctx, name, snap, ro=True) as image,
                self._image(dst_io, target.image) as dst,
            ):
                length, size = int(image.size()), int(dst.size())
                if length > size:
                    raise BackupError(f"the backup holds {length} bytes, the volume only {size}")
                position = 0
                for offset, count in [*_data(image, length), (size, 0)]:
                    if offset > position and not new_volume:
                        dst.write_zeroes(position, offset - position)
                    for start in range(offset, offset + count, COPY_SIZE):
                        dst.write(image.read(start, min(COPY_SIZE, offset + count - start)), start)
                    position = offset + count
                dst.flush()

    # -- volume metadata -------------------------------------------------------------------
    def put_volume_meta(self, backup: BackupRef, data: bytes) -> None:
        with self._io() as ioctx:
            ioctx.write_full(f"backup.{backup.id}.meta", data)

    def get_volume_meta(self, backup: BackupRef) -> bytes | None:
        with self._io() as ioctx:
            try:
                return bytes(ioctx.read(f"backup.{backup.id}.meta", 1 << 20))
            except ceph.bindings().rados.ObjectNotFound:
                return None

    # -- delete ----------------------------------------------------------------------------
    def delete_backup(self, backup: BackupRef) -> None:
        """Remove the backup's snapshot (and its image once no backup uses it), its source
        snapshot and metadata; undo what an interrupted backup wrote. Idempotent."""
        snap = snap_name(backup.id)
        with self._io() as ioctx:
            for name in self._images(ioctx, backup.volume_id):
                try:
                    self._delete_from(ioctx, name, backup.id, snap)
                except self._rbd.ImageNotFound:
                    continue
            try:
                ioctx.remove_object(f"backup.{backup.id}.meta")
            except ceph.bindings().rados.ObjectNotFound:
                pass

    def _delete_from(self, ioctx: Any, name: str, backup_id: str, snap: str) -> None:
        own = name.endswith(f".backup.{backup_id}")
        with self._rbd.Image(ioctx, name) as image:
            snaps = self._snaps(image)
            meta = dict(image.metadata_list())
            others = [s for s in snaps if s != snap]
            if own or meta.get(PENDING) == backup_id:
                self._break_locks(image, name)
            if own and others:
                dependent = _backup_id_of_snap(others[-1])
                raise BackupHasDependents(
                    f"backup {backup_id} has dependent incremental backup {dependent}"
                )
            if meta.get(PENDING) == backup_id:  # an interrupted incremental: undo its writes
                if others:
                    image.rollback_to_snap(others[-1])
                image.metadata_remove(PENDING)
            if SOURCE + backup_id in meta:
                self._remove_source_snap(meta[SOURCE + backup_id], snap)
                image.metadata_remove(SOURCE + backup_id)
            if snap in snaps:
                image.remove_snap(snap)
        if own:
            self._remove(ioctx, name)

    def _break_locks(self, image: Any, name: str) -> None:
        """Break the exclusive lock a killed backup left on its image (librbd blocklists
        the dead client, which also drops its watch). Only a writer of this backup can
        hold it, and a backup being deleted or cleaned up has none alive."""
        try:
            for owner in list(image.lock_get_owners()):
                LOG.warning("%s: breaking the lock of %s (a killed backup)", name, owner["owner"])
                image.lock_break(owner["mode"], owner["owner"])
        except self._rbd.Error as exc:
            LOG.warning("%s: lock not broken: %s", name, exc)

    def _remove(self, ioctx: Any, name: str) -> None:
        """Remove an image; a dead writer's watch lingers until the OSD times it out
        (``osd_client_watch_timeout``, 30 s), so busy is retried that long."""
        deadline = time.monotonic() + BUSY_TIMEOUT
        while True:
            try:
                self._rbd.RBD().remove(ioctx, name)
                return
            except self._rbd.ImageNotFound:
                return
            except self._rbd.ImageBusy:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def _drop_source_snap(self, ioctx: Any, name: str, backup_id: str) -> None:
        """Remove the source snapshot ``backup_id`` took (a newer one replaces it)."""
        with self._image(ioctx, name) as image:
            meta = dict(image.metadata_list())
            if SOURCE + backup_id in meta:
                self._remove_source_snap(meta[SOURCE + backup_id], snap_name(backup_id))
                image.metadata_remove(SOURCE + backup_id)

    def _remove_source_snap(self, location: str, snap: str) -> None:
        try:
            user, pool, image = json.loads(location)
            with self._io(user, pool) as src_io, self._rbd.Image(src_io, image) as src:
                if snap in self._snaps(src):
                    src.remove_snap(snap)
        except self._rbd.ImageNotFound:
            return  # the volume went, and its snapshots with it
        except (ValueError, BackupError) as exc:
            LOG.warning("source snapshot %s not removed: %s", snap, exc)

    def remove_orphans(self, known: Callable[[list[str]], set[str]]) -> int:
        """Remove the backups (images, snapshots, metadata objects) whose id ``known``
        does not return; the count of backups removed."""
        with self._io() as ioctx:
            found: dict[str, str] = {}  # backup id -> volume id
            for name in self._images(ioctx):
                volume_id = name.split(".backup.")[0][len("volume-") :]
                with self._rbd.Image(ioctx, name, read_only=True) as image:
                    for s in self._snaps(image):
                        if (bid := _backup_id_of_snap(s)) is not None:
                            found[bid] = volume_id
                    for key, _ in image.metadata_list():
                        if key.startswith(SOURCE):
                            found[key[len(SOURCE) :]] = volume_id
                    pending = dict(image.metadata_list()).get(PENDING)
                    if pending:
                        found[pending] = volume_id
                found.setdefault(name.split(".backup.")[1], volume_id)
            metas = [o.key for o in ioctx.list_objects() if o.key.startswith("backup.")]
        for key in metas:
            found.setdefault(key[len("backup.") : -len(".meta")], "")
        alive = known(list(found))
        count = 0
        for backup_id, volume_id in sorted(found.items()):
            if backup_id in alive:
                continue
            LOG.warning("ceph backup %s: no backup row claims it; removing", backup_id)
            try:
                self.delete_backup(BackupRef(backup_id, volume_id, self.pool))
                count += 1
            except BackupHasDependents:
                LOG.info("orphan backup %s has dependents; kept", backup_id)
        return count

    # -- export and import -----------------------------------------------------------------
    def export_record(self, backup: BackupRef) -> str:
        with self._io() as ioctx:
            name, snap = self._located(ioctx, backup)
        return json.dumps(
            {
                "backup_service": SERVICE,
                "pool": self.pool,
                "service_metadata": f"{name}@{snap}",
                "backup_id": backup.id,
                "volume_id": backup.volume_id,
                "name": backup.name,
                "description": backup.description,
            }
        )

    def import_record(self, record: str) -> BackupRef:
        try:
            data = json.loads(record)
            if data.get("backup_service") != SERVICE:
                raise BackupError(f"not a record of {SERVICE}")
            ref = BackupRef(
                id=str(data["backup_id"]),
                volume_id=str(data["volume_id"]),
                container=str(data["pool"]),
                service_metadata=str(data["service_metadata"]),
                name=data.get("name"),
                description=data.get("description"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"bad backup record: {exc}") from exc
        if ref.container != self.pool:
            raise BackupError(
                f"the backup is in pool {ref.container}, this service uses {self.pool}"
            )
        with self._io() as ioctx:
            self._located(ioctx, ref)
            name, snap = str(ref.service_metadata).partition("@")[::2]
            with self._image(ioctx, name, ro=True) as image:
                if snap not in self._snaps(image):
                    raise BackupCorrupt(f"backup {ref.id}: snapshot {snap} is gone")
        return ref


def _location(source: RbdVolume) -> str:
    return json.dumps([source.user, source.pool, source.image])


def _diff(image: Any, size: int, from_snap: str | None) -> list[tuple[int, int, bool]]:
    """What ``diff_iterate`` reports: (offset, length, exists) of each extent changed
    since ``from_snap`` (None: everything allocated), merged where adjacent."""
    found: list[tuple[int, int, bool]] = []

    def collect(offset: int, length: int, exists: bool) -> int:
        if found and found[-1][2] == bool(exists) and found[-1][0] + found[-1][1] == offset:
            found[-1] = (found[-1][0], found[-1][1] + length, bool(exists))
        else:
            found.append((offset, length, bool(exists)))
        return 0

    image.diff_iterate(0, size, from_snap, collect)
    return found


def _data(image: Any, size: int) -> list[tuple[int, int]]:
    """(offset, length) of what ``image`` stores."""
    return [(o, n) for o, n, exists in _diff(image, size, None) if exists]


def _copy_diff(src: Any, target: Any, size: int, from_snap: str | None) -> int:
    """Write into ``target`` what changed in ``src`` since ``from_snap`` (all its data
    when None); returns the bytes written."""
    written = 0
    zero = bytes(COPY_SIZE)
    for offset, length, exists in _diff(src, size, from_snap):
        if not exists:
            if from_snap is not None:
                target.write_zeroes(offset, length)
            continue
        for start in range(offset, offset + length, COPY_SIZE):
            data = src.read(start, min(COPY_SIZE, offset + length - start))
            if from_snap is None and data == zero[: len(data)]:
                continue  # a full backup stays sparse
            target.write(data, start)
            written += len(data)
    return written


def _write_zeros(f: BinaryIO, length: int) -> None:
    zero = bytes(min(length, 1 << 20))
    while length > 0:
        n = min(length, len(zero))
        f.write(zero[:n])
        length -= n
