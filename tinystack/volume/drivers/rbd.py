"""The ``rbd`` driver: volumes as RBD images in a Ceph pool (Cinder's RBD driver).

A volume is the RBD image ``volume-<id>`` in ``rbd_pool`` (``volumes``), reached as the
cephx user ``rbd_user`` through ``rbd_ceph_conf`` (monitors and that user's keyring: the
key is never an option, an argument or part of a connection info). Every data path goes
through librbd (the Python bindings here, QEMU's rbd driver on compute hosts): there is
no host block device.

- From an image: :meth:`clone_image` clones the image service's RBD snapshot
  (``rbd://<fsid>/<pool>/<image>/<snap>`` of the same cluster, a raw image) copy-on-write,
  instantly, then grows the clone to the volume's size; other images are written from
  the image cache with ``qemu-img convert``.
- A snapshot is the RBD snapshot ``snapshot-<id>`` of its volume; a volume from a snapshot
  is a clone of it (protected on first use), flattened when
  ``rbd_flatten_volume_from_snapshot``; a volume from a volume clones a snapshot
  ``volume-<new id>.clone_snap`` taken of the source, flattened when the chain would get
  deeper than ``rbd_max_clone_depth``.
- Deletes copy nothing and leave no orphans, as upstream's: a snapshot that volumes were
  cloned from is busy (it stays ``available`` with a user message until they go); a volume
  whose ``.clone_snap`` has clones is renamed ``volume-<id>.deleted`` and removed when its
  last clone goes (a deleted clone removes the ``.clone_snap`` it was made from when
  nothing else uses it, then such a deleted parent, up the chain); the snapshots a
  ``ceph`` backup keeps of the volume go with it.
- Attachments need no export: the connection info is ``rbd`` with the monitors, pool/image,
  user and the ``secret_uuid`` under which compute hosts keep the user's key
  (``rbd_secret_uuid``); a multiattach volume's image has no ``exclusive-lock`` (nor the
  features built on it), so several guests may hold it open for writing. Capacity is the
  pool's share of the cluster (``ceph df``).
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from tinystack.common import ceph
from tinystack.common.rpc.payload import JSON
from tinystack.volume.drivers.base import (
    BackendStats,
    ConnectionInfo,
    Connector,
    ManageableVolume,
    PoolStats,
    SnapshotRef,
    VolumeDriver,
    VolumeRef,
)
from tinystack.volume.drivers.errors import (
    BackendError,
    ImageTooLarge,
    InvalidReference,
    VolumeBusy,
    VolumeNotFound,
)

LOG = logging.getLogger(__name__)
GiB = 1024**3
PREFIX = "volume-"
#: what an unmanaged volume's image is renamed to (the prefix before ``volume-<id>``)
UNMANAGED = "unmanaged-"
CLONE_SNAP = ".clone_snap"
#: tries (a second apart) to remove an image a crashed client still watches
REMOVE_RETRIES = 45
_UPLOAD_FORMATS = {"raw": "raw", "qcow2": "qcow2", "vmdk": "vmdk", "vdi": "vdi", "vhd": "vpc"}


def _name(volume_id: str) -> str:
    return f"{PREFIX}{volume_id}"


def _snap(snapshot_id: str) -> str:
    return f"snapshot-{snapshot_id}"


class RbdFile(io.RawIOBase):
    """An RBD image as a seekable raw file (backups read it, restores write it)."""

    def __init__(self, image: Any, write: bool) -> None:
        self._image = image
        self._write = write
        self._pos = 0
        self._size = int(image.size())

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return self._write

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        length = min(len(view), max(0, self._size - self._pos))
        if length <= 0:
            return 0
        data = self._image.read(self._pos, length)
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def write(self, data: Any) -> int:
        if not self._write:
            raise OSError("read-only")
        payload = bytes(data)
        written = int(self._image.write(payload, self._pos))
        self._pos += written
        return written


class RbdDriver(VolumeDriver):
    VERSION = "1.0.0"

    def __init__(
        self,
        spec: ceph.ClusterSpec,
        backend_name: str,
        *,
        pool: str = "volumes",
        secret_uuid: str = "",
        flatten_from_snapshot: bool = False,
        max_clone_depth: int = 5,
        max_over_subscription_ratio: float = 20.0,
        reserved_percentage: int = 0,
    ) -> None:
        self.spec = spec
        self.backend_name = backend_name
        self.pool = pool
        self.secret_uuid = secret_uuid
        self.flatten_from_snapshot = flatten_from_snapshot
        self.max_clone_depth = max_clone_depth
        self.max_over_subscription_ratio = max_over_subscription_ratio
        self.reserved_percentage = reserved_percentage
        self.cluster = ceph.Connection(spec)

    # -- plumbing --------------------------------------------------------------------------
    @property
    def _rbd(self) -> Any:
        return ceph.bindings().rbd

    @contextmanager
    def _io(self, pool: str | None = None) -> Iterator[Any]:
        try:
            ioctx = self.cluster.ioctx(pool or self.pool)
        except Exception as exc:
            self.cluster.close()
            raise BackendError(f"cannot open pool {pool or self.pool}: {exc}") from exc
        try:
            yield ioctx
        finally:
            ioctx.close()

    @contextmanager
    def _image(self, name: str, *, read_only: bool = False) -> Iterator[Any]:
        with self._io() as ioctx:
            try:
                image = self._rbd.Image(ioctx, name, read_only=read_only)
            except self._rbd.ImageNotFound:
                raise VolumeNotFound(f"rbd image {self.pool}/{name} does not exist") from None
            with image:
                yield image

    def _exists(self, name: str) -> bool:
        with self._io() as ioctx:
            return name in self._rbd.RBD().list(ioctx)

    def do_setup(self) -> None:
        with self._io():
            pass

    def close(self) -> None:
        self.cluster.close()

    # -- create ----------------------------------------------------------------------------
    def create_volume(self, volume: VolumeRef) -> str | None:
        name = _name(volume.id)
        with self._io() as ioctx:
            if name not in self._rbd.RBD().list(ioctx):
                self._rbd.RBD().create(ioctx, name, volume.size * GiB, old_format=False)
        self._lay_out(volume)
        return None

    def _lay_out(self, volume: VolumeRef) -> None:
        """Upstream's multiattach layout: several QEMUs write a multiattach volume at
        once, so its image goes without ``exclusive-lock`` and the features that need it
        (``object-map``, ``fast-diff``, ``journaling``); a volume retyped back to single
        attach gets back those of them the cluster gives new images (the object map
        rebuilt)."""
        rbd = self._rbd
        shared = (
            rbd.RBD_FEATURE_EXCLUSIVE_LOCK | rbd.RBD_FEATURE_OBJECT_MAP
            | rbd.RBD_FEATURE_FAST_DIFF | rbd.RBD_FEATURE_JOURNALING
        )  # fmt: skip
        with self._image(_name(volume.id)) as image:
            features = int(image.features())
            if volume.multiattach and features & shared:
                image.update_features(features & shared, False)
            elif not volume.multiattach and not features & rbd.RBD_FEATURE_EXCLUSIVE_LOCK:
                wanted = shared & ~rbd.RBD_FEATURE_JOURNALING & self._default_features()
                if wanted:
                    image.update_features(wanted, True)
                if wanted & rbd.RBD_FEATURE_OBJECT_MAP:
                    image.rebuild_object_map()

    def _default_features(self) -> int:
        """The cluster's ``rbd_default_features`` (what a new image gets)."""
        value = str(self.cluster.rados().conf_get("rbd_default_features") or "0")
        if value.isdigit():
            return int(value)
        names = {
            "exclusive-lock": self._rbd.RBD_FEATURE_EXCLUSIVE_LOCK,
            "object-map": self._rbd.RBD_FEATURE_OBJECT_MAP,
            "fast-diff": self._rbd.RBD_FEATURE_FAST_DIFF,
        }
        return sum(names.get(name.strip(), 0) for name in value.split(","))

    def retype(self, volume: VolumeRef) -> str | None:
        self._lay_out(volume)
        return None

    def clone_image(self, volume: VolumeRef, locations: list[str], disk_format: str) -> bool:
        """Clone a raw image's RBD snapshot in this cluster (upstream's ``clone_image``);
        False when no location is one (the manager then copies the image)."""
        if disk_format != "raw":
            return False
        fsid = self.cluster.fsid()
        for url in locations:
            parts = url.removeprefix("rbd://").split("/") if url.startswith("rbd://") else []
            if len(parts) != 4 or parts[0] != fsid or not all(parts):
                continue
            _fsid, pool, image, snap = parts
            try:
                self._clone(pool, image, snap, _name(volume.id), volume.size)
            except BackendError as exc:
                LOG.warning("volume %s: %s; copying the image instead", volume.id, exc)
                continue
            self._lay_out(volume)
            return True
        return False

    def _clone(self, pool: str, image: str, snap: str, name: str, size_gb: int) -> None:
        rbd = self._rbd
        with self._io(pool) as parent_io, self._io() as child_io:
            if name in rbd.RBD().list(child_io):
                return  # a replay found the clone made
            try:
                # read-only first: the user may only read the parent's pool (images)
                with rbd.Image(parent_io, image, read_only=True) as parent:
                    protected = parent.is_protected_snap(snap)
                if not protected:
                    with rbd.Image(parent_io, image) as parent:
                        parent.protect_snap(snap)
                rbd.RBD().clone(parent_io, image, snap, child_io, name, features=None)
            except (rbd.Error, OSError) as exc:
                raise BackendError(f"cannot clone {pool}/{image}@{snap}: {exc}") from exc
            with rbd.Image(child_io, name) as child:
                if child.size() < size_gb * GiB:
                    child.resize(size_gb * GiB)

    def create_volume_from_image(
        self, volume: VolumeRef, image: Path, image_format: str
    ) -> str | None:
        info = json.loads(
            _qemu_img("info", "--output=json", "-f", image_format, str(image)) or "{}"
        )
        if int(info.get("virtual-size", 0)) > volume.size * GiB:
            raise ImageTooLarge(f"the image does not fit a {volume.size} GiB volume")
        self.create_volume(volume)
        try:
            _qemu_img(
                "convert", "-n", "-f", image_format, "-O", "raw", str(image),
                self._qemu_url(_name(volume.id)),
            )  # fmt: skip
        except BackendError:
            self.delete_volume(volume)
            raise
        return None

    def _qemu_url(self, name: str, snap: str = "") -> str:
        at = f"@{snap}" if snap else ""
        return f"rbd:{self.pool}/{name}{at}:id={self.spec.user}:conf={self.spec.conf_file}"

    def create_cloned_volume(self, volume: VolumeRef, source: VolumeRef) -> str | None:
        src, snap = _name(source.id), _name(volume.id) + CLONE_SNAP
        with self._image(src) as image:
            if snap not in {s["name"] for s in image.list_snaps()}:
                image.create_snap(snap)
            depth = self._depth(image)
        self._clone(self.pool, src, snap, _name(volume.id), volume.size)
        if depth + 1 > self.max_clone_depth:
            self._flatten(_name(volume.id))
            self._drop_clone_snap(src, snap)
        self._lay_out(volume)
        return None

    def _depth(self, image: Any) -> int:
        depth = 0
        current = image.get_parent_image_spec() if _has_parent(image) else None
        while current is not None and depth < 64:
            depth += 1
            with (
                self._io(current["pool_name"]) as ioctx,
                self._rbd.Image(ioctx, current["image_name"], read_only=True) as parent,
            ):
                current = parent.get_parent_image_spec() if _has_parent(parent) else None
        return depth

    def create_volume_from_snapshot(self, volume: VolumeRef, snapshot: SnapshotRef) -> str | None:
        self._clone(
            self.pool, _name(snapshot.volume_id), _snap(snapshot.id), _name(volume.id), volume.size
        )
        if self.flatten_from_snapshot:
            self._flatten(_name(volume.id))
        self._lay_out(volume)
        return None

    def _flatten(self, name: str) -> None:
        with self._image(name) as image:
            if _has_parent(image):
                image.flatten()

    # -- delete ----------------------------------------------------------------------------
    def delete_volume(self, volume: VolumeRef) -> None:
        """Remove the volume as upstream does: backup base snapshots go first; other
        snapshots make it busy; while clones depend on its ``.clone_snap`` snapshots it
        stays as ``volume-<id>.deleted`` (no copy), removed with the last clone."""
        name = _name(volume.id)
        parent, busy_clones = None, False
        try:
            with self._image(name) as image:
                parent = image.get_parent_image_spec() if _has_parent(image) else None
                for snap in [s["name"] for s in image.list_snaps()]:
                    if snap.startswith("backup.") and snap.endswith(".snap"):
                        image.remove_snap(snap)  # a ceph backup's base (upstream: the same)
                    elif not snap.endswith(CLONE_SNAP):
                        raise VolumeBusy(f"volume {volume.id} still has snapshot {snap}")
                    elif self._children(image, snap):
                        busy_clones = True
                    else:
                        self._remove_snap(image, snap)
        except VolumeNotFound:
            # none, or a create killed half-way: listed in the pool's directory without
            # its header, which only a remove takes out of the directory
            pass
        with self._io() as ioctx:
            if busy_clones:
                LOG.info("volume %s has clones: kept as %s.deleted until they go", volume.id, name)
                self._rbd.RBD().rename(ioctx, name, f"{name}.deleted")
                return
            self._remove(ioctx, name)
        if parent and parent["snap_name"].endswith(CLONE_SNAP):
            self._drop_clone_snap(parent["image_name"], parent["snap_name"])

    def _remove(self, ioctx: Any, name: str) -> None:
        """Remove an image; busy (a crashed client's watch, 30 s) is retried a while."""
        rbd = self._rbd
        for attempt in range(REMOVE_RETRIES):
            try:
                rbd.RBD().remove(ioctx, name)
                return
            except rbd.ImageNotFound:
                return
            except rbd.ImageHasSnapshots as exc:
                raise VolumeBusy(f"{self.pool}/{name} has snapshots") from exc
            except rbd.ImageBusy as exc:
                if attempt == REMOVE_RETRIES - 1:
                    raise VolumeBusy(f"{self.pool}/{name} is still open") from exc
                time.sleep(1)

    def _children(self, image: Any, snap: str) -> list[Any]:
        image.set_snap(snap)
        try:
            return list(image.list_children2())
        finally:
            image.set_snap(None)

    def _remove_snap(self, image: Any, snap: str) -> None:
        if image.is_protected_snap(snap):
            image.unprotect_snap(snap)
        image.remove_snap(snap)

    def _drop_clone_snap(self, source: str, snap: str) -> None:
        """Remove a ``.clone_snap`` once no clone uses it (the source may be gone); a
        deleted source (``.deleted``) left without snapshots goes too, and so on up the
        chain (upstream's ``_delete_clone_parent_refs``)."""
        try:
            with self._image(source) as image:
                if self._children(image, snap):
                    return
                self._remove_snap(image, snap)
                left = bool(list(image.list_snaps()))
                parent = image.get_parent_image_spec() if _has_parent(image) else None
        except (VolumeNotFound, self._rbd.ImageNotFound):
            return
        if left or not source.endswith(".deleted"):
            return
        with self._io() as ioctx:
            self._remove(ioctx, source)
        if parent and parent["snap_name"].endswith(CLONE_SNAP):
            self._drop_clone_snap(parent["image_name"], parent["snap_name"])

    # -- resize, snapshots -----------------------------------------------------------------
    def extend_volume(self, volume: VolumeRef, new_size: int) -> None:
        with self._image(_name(volume.id)) as image:
            if image.size() < new_size * GiB:
                image.resize(new_size * GiB)

    def create_snapshot(self, snapshot: SnapshotRef) -> str | None:
        with self._image(_name(snapshot.volume_id)) as image:
            if _snap(snapshot.id) not in {s["name"] for s in image.list_snaps()}:
                image.create_snap(_snap(snapshot.id))
        return None

    def delete_snapshot(self, snapshot: SnapshotRef) -> None:
        """Remove the snapshot; busy while volumes cloned from it exist (upstream's
        SnapshotIsBusy: it stays ``available``)."""
        snap = _snap(snapshot.id)
        try:
            with self._image(_name(snapshot.volume_id)) as image:
                if snap not in {s["name"] for s in image.list_snaps()}:
                    return
                children = self._children(image, snap)
                if children:
                    names = ", ".join(f"{c['pool']}/{c['image']}" for c in children)
                    raise VolumeBusy(f"snapshot {snapshot.id} has dependent volumes: {names}")
                self._remove_snap(image, snap)
        except VolumeNotFound:
            return

    def revert_to_snapshot(self, volume: VolumeRef, snapshot: SnapshotRef) -> None:
        with self._image(_name(volume.id)) as image:
            image.rollback_to_snap(_snap(snapshot.id))

    # -- attachments -----------------------------------------------------------------------
    def initialize_connection(
        self, volume: VolumeRef, connector: Connector, attachment_id: str
    ) -> ConnectionInfo:
        if not self._exists(_name(volume.id)):
            raise VolumeNotFound(f"volume {volume.id} has no rbd image")
        return self._connection_info(volume.id)

    def _connection_info(self, volume_id: str, snap: str | None = None) -> ConnectionInfo:
        hosts, ports = ceph.monitors(self.cluster.rados())
        data: dict[str, JSON] = {
            "name": f"{self.pool}/{_name(volume_id)}",
            "hosts": list(hosts),
            "ports": list(ports),
            "cluster_name": "ceph",
            "auth_enabled": True,
            "auth_username": self.spec.user,
            "secret_type": "ceph",
            "secret_uuid": self.secret_uuid or None,
            "volume_id": volume_id,
            "discard": True,
        }
        if snap:
            data["snap_name"] = snap
        return ConnectionInfo("rbd", data)

    def terminate_connection(self, volume: VolumeRef, attachment_id: str) -> None:
        """Nothing to undo: a client of the cluster holds no export."""

    def initialize_snapshot_connection(
        self, snapshot: SnapshotRef, connector: Connector, attachment_id: str
    ) -> ConnectionInfo:
        """The snapshot as an ``rbd`` connection info naming it (``snap_name``)."""
        with self._image(_name(snapshot.volume_id), read_only=True) as image:
            if _snap(snapshot.id) not in {s["name"] for s in image.list_snaps()}:
                raise VolumeNotFound(f"snapshot {snapshot.id} has no rbd snapshot")
        return self._connection_info(snapshot.volume_id, _snap(snapshot.id))

    def terminate_snapshot_connection(self, snapshot: SnapshotRef, attachment_id: str) -> None:
        """Nothing to undo, as for volumes."""

    def exports(self) -> list[str]:
        return []

    def volume_ids(self) -> list[str]:
        with self._io() as ioctx:
            names = self._rbd.RBD().list(ioctx)
        return [n[len(PREFIX) :] for n in names if n.startswith(PREFIX) and "." not in n]

    # -- data ------------------------------------------------------------------------------
    def copy_volume_to_file(self, volume: VolumeRef, dest: Path, disk_format: str) -> None:
        out_fmt = _UPLOAD_FORMATS.get(disk_format)
        if out_fmt is None:
            raise BackendError(f"cannot write a volume as {disk_format}")
        tmp = dest.with_name(f".tmp-{dest.name}")
        try:
            _qemu_img(
                "convert", "-f", "raw", "-O", out_fmt, self._qemu_url(_name(volume.id)), str(tmp)
            )
            tmp.replace(dest)
        finally:
            tmp.unlink(missing_ok=True)

    def open_volume(self, volume: VolumeRef, write: bool) -> AbstractContextManager[BinaryIO]:
        return self._open(_name(volume.id), None, write)

    def open_snapshot(self, snapshot: SnapshotRef) -> AbstractContextManager[BinaryIO]:
        return self._open(_name(snapshot.volume_id), _snap(snapshot.id), False)

    @contextmanager
    def _open(self, name: str, snap: str | None, write: bool) -> Iterator[BinaryIO]:
        with self._io() as ioctx:
            try:
                image = self._rbd.Image(ioctx, name, snapshot=snap, read_only=not write)
            except self._rbd.ImageNotFound:
                raise VolumeNotFound(f"rbd image {self.pool}/{name} does not exist") from None
            with image:
                raw = RbdFile(image, write)
                stream = io.BufferedRandom(raw) if write else io.BufferedReader(raw)
                try:
                    yield stream
                finally:
                    if write:
                        stream.flush()
                        image.flush()

    # -- capacity --------------------------------------------------------------------------
    def get_volume_stats(self, allocated_gb: dict[str, int]) -> BackendStats:
        """The pool's share of the cluster as ``ceph df`` reports it: free is what the
        pool may still store, total that plus what it stores."""
        ret, out, err = self.cluster.rados().mon_command(
            json.dumps({"prefix": "df", "format": "json"}), b"", timeout=30
        )
        if ret != 0:
            raise BackendError(f"ceph df: {err}")
        report = json.loads(out)
        pool = next((p for p in report.get("pools", []) if p["name"] == self.pool), None)
        if pool is None:
            raise BackendError(f"pool {self.pool} does not exist")
        free = int(pool["stats"]["max_avail"])
        total = free + int(pool["stats"].get("stored", pool["stats"].get("bytes_used", 0)))
        stats = PoolStats.whole_backend(
            self.backend_name,
            round(total / GiB, 2),
            round(free / GiB, 2),
            allocated_gb,
            reserved_percentage=self.reserved_percentage,
            max_over_subscription_ratio=self.max_over_subscription_ratio,
        )
        return BackendStats(
            volume_backend_name=self.backend_name,
            vendor_name="Open Source",
            driver_version=self.VERSION,
            storage_protocol="ceph",
            pools=(stats,),
        )

    # -- manage / unmanage -----------------------------------------------------------------
    def get_manageable_volumes(self) -> list[ManageableVolume]:
        found = []
        with self._io() as ioctx:
            names = sorted(self._rbd.RBD().list(ioctx))
            for name in names:
                with self._rbd.Image(ioctx, name, read_only=True) as image:
                    size = -(-int(image.size()) // GiB)
                ours = name.startswith(PREFIX)
                found.append(
                    ManageableVolume(
                        reference={"source-name": name},
                        size=size,
                        safe_to_manage=not ours,
                        reason_not_safe="already managed" if ours else None,
                        cinder_id=name[len(PREFIX) :] if ours else None,
                    )
                )
        return found

    def manage_existing(
        self, volume: VolumeRef, reference: dict[str, str]
    ) -> tuple[int, str | None]:
        source = reference.get("source-name") or ""
        with self._io() as ioctx:
            if source not in self._rbd.RBD().list(ioctx):
                raise VolumeNotFound(f"no rbd image {source} in {self.pool}")
            self._rbd.RBD().rename(ioctx, source, _name(volume.id))
            with self._rbd.Image(ioctx, _name(volume.id), read_only=True) as image:
                return -(-int(image.size()) // GiB), None

    def unmanage(self, volume: VolumeRef) -> None:
        """The image stays, renamed ``unmanaged-volume-<id>`` (upstream keeps its name, but
        here a ``volume-<id>`` no row claims is an orphan the manager's start removes)."""
        with self._io() as ioctx:
            names = self._rbd.RBD().list(ioctx)
            if _name(volume.id) in names:
                self._rbd.RBD().rename(ioctx, _name(volume.id), f"{UNMANAGED}{_name(volume.id)}")

    def manage_existing_snapshot(
        self, snapshot: SnapshotRef, reference: dict[str, str]
    ) -> tuple[int, str | None]:
        """Adopt the snapshot ``reference["source-name"]`` of the volume's RBD image,
        renamed to ``snapshot-<id>`` (upstream's rbd driver; its size is the volume's)."""
        source = reference.get("source-name") or ""
        target = _snap(snapshot.id)
        with self._image(_name(snapshot.volume_id)) as image:
            names = {s["name"] for s in image.list_snaps()}
            if source not in names and target not in names:
                raise InvalidReference(
                    f"no snapshot {source!r} of {self.pool}/{_name(snapshot.volume_id)}"
                )
            if source in names and source != target:  # not a replay after the rename
                image.rename_snap(source, target)
            return snapshot.volume_size, None

    def unmanage_snapshot(self, snapshot: SnapshotRef) -> None:
        """The snapshot stays as it is named (``snapshot-<id>``), as upstream leaves it."""


def _has_parent(image: Any) -> bool:
    try:
        image.get_parent_image_spec()
    except ceph.bindings().rbd.ImageNotFound:
        return False
    return True


def _qemu_img(*args: str) -> str:
    result = subprocess.run(
        ["qemu-img", *args], capture_output=True, text=True, timeout=3600, check=False
    )
    if result.returncode != 0:
        raise BackendError(f"qemu-img {args[0]} failed: {result.stderr.strip()[-500:]}")
    return result.stdout
