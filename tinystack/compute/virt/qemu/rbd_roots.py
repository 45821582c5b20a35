"""Root disks as RBD images (``[compute] images_type = rbd``; Nova's Rbd image backend).

An instance's root disk is ``<uuid>_disk`` in ``images_rbd_pool`` (``vms``). When the
image service keeps the image as an RBD snapshot of this cluster (its ``direct_url`` or
a location ``rbd://<fsid>/<pool>/<image>/<snap>``) and the image is raw, the disk is a
copy-on-write clone of that snapshot: nothing is downloaded. Otherwise the cached image
is converted into the pool. Either way the disk is grown to the flavor's root size. The
pool is shared block storage: an evacuation (``keep``) starts the guest from the disk it
finds there, as it is (only grown, never shrunk), as Nova's libvirt driver does.

QEMU opens it through librbd like an rbd volume (:class:`VolumeDisk` with an ``rbd``
connection info: monitors, pool/image, ``rbd_user``, and ``rbd_secret_uuid``, whose
key QEMU gets as a ``secret`` object from a 0600 file read from ``rbd_keyring``: never
on a command line). Deleting the instance removes the image (its snapshots first);
the cleanup of a host the instance was evacuated from leaves it to the new host.
A snapshot for ``createImage`` is made as Nova's ``direct_snapshot``: an RBD snapshot of
the root disk (crash-consistent, the guest runs on), cloned into the image store's pool
(the root disk's parent's pool, else the pool of the instance image's location in this
cluster) as ``<image id>``, flattened, the root disk's snapshot removed, then the new
image's protected snapshot ``snap`` taken and ``rbd://fsid/pool/<image id>/snap`` given to
the image service (its location API, as a service): nothing passes through this host.
Without write access to that pool (``rbd-read-only``, as Ceph's guide gives compute) or a
pool to put it in, or when the image service refuses the location, the snapshot is read
from an RBD snapshot into a qcow2 file that is uploaded like a file root disk's.
"""

from __future__ import annotations

import logging
import subprocess
import time
import uuid as uuidlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tinystack.common import ceph
from tinystack.compute.virt.driver import DriverError, SnapshotRefused, SnapshotTarget
from tinystack.compute.virt.qemu.imagecache import ImageCache
from tinystack.compute.virt.qemu.settings import QemuSettings
from tinystack.compute.virt.qemu.volumes import VolumeDisk

LOG = logging.getLogger(__name__)
#: seconds a removal waits for a killed QEMU's watch to expire (osd_client_watch_timeout)
BUSY_TIMEOUT = 45.0
#: the protected snapshot of an image in the image store's pool (Glance's rbd store's)
IMAGE_SNAPSHOT = "snap"
#: the root disk's snapshot while a resize awaits confirmation (Nova's, its revert point)
RESIZE_SNAPSHOT = "nova-resize"


def disk_name(uuid: str) -> str:
    return f"{uuid}_disk"


class RbdRoots:
    def __init__(self, settings: QemuSettings) -> None:
        self.settings = settings
        self.pool = settings.images_rbd_pool
        self.spec = ceph.ClusterSpec(settings.images_rbd_ceph_conf, settings.rbd_user)
        self.cluster = ceph.Connection(self.spec)

    @property
    def _rbd(self) -> Any:
        return ceph.bindings().rbd

    @contextmanager
    def _io(self, pool: str | None = None) -> Iterator[Any]:
        try:
            ioctx = self.cluster.ioctx(pool or self.pool)
        except Exception as exc:
            self.cluster.close()
            raise DriverError(f"cannot open pool {pool or self.pool}: {exc}") from exc
        try:
            yield ioctx
        finally:
            ioctx.close()

    # -- create ----------------------------------------------------------------------------
    def clone_source(self, image: dict[str, Any] | None) -> tuple[str, str, str] | None:
        """(pool, image, snap) of the image's RBD snapshot in this cluster, if a raw one."""
        if not image or image.get("disk_format") != "raw":
            return None
        urls = [image.get("direct_url")]
        urls += [loc.get("url") for loc in image.get("locations") or [] if isinstance(loc, dict)]
        fsid = self.cluster.fsid()
        for url in urls:
            if not isinstance(url, str) or not url.startswith("rbd://"):
                continue
            parts = url.removeprefix("rbd://").split("/")
            if len(parts) == 4 and parts[0] == fsid and all(parts):
                return parts[1], parts[2], parts[3]
        return None

    def create(self, uuid: str, source: tuple[str, str, str] | None, size: int) -> None:
        """A clone of ``source`` (pool, image, snap) grown to ``size`` bytes; without a
        source the caller converts the cached image (:meth:`import_file`)."""
        if source is None:
            raise DriverError("no RBD snapshot to clone")
        pool, image, snap = source
        name = disk_name(uuid)
        rbd = self._rbd
        with self._io(pool) as parent_io, self._io() as child_io:
            try:
                if name not in rbd.RBD().list(child_io):
                    rbd.RBD().clone(parent_io, image, snap, child_io, name, features=None)
                with rbd.Image(child_io, name) as child:
                    if int(child.size()) < size:
                        child.resize(size)
            except (rbd.Error, OSError) as exc:
                raise DriverError(f"cannot clone {pool}/{image}@{snap}: {exc}") from exc

    def import_file(self, uuid: str, path: str, fmt: str, size: int) -> None:
        """The cached image converted into the pool (an image that cannot be cloned)."""
        url = self._qemu_url(disk_name(uuid))
        cmd = ["qemu-img", "convert", "-q", "-f", fmt, "-O", "raw", path, url]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False)
        if result.returncode != 0:
            raise DriverError(f"qemu-img convert into rbd failed: {result.stderr.strip()[-500:]}")
        with self._io() as ioctx, self._rbd.Image(ioctx, disk_name(uuid)) as image:
            if int(image.size()) < size:
                image.resize(size)

    def disk(self, uuid: str) -> VolumeDisk:
        """The root disk as QEMU opens it (an rbd volume that boots)."""
        hosts, ports = ceph.monitors(self.cluster.rados())
        info: dict[str, Any] = {
            "driver_volume_type": "rbd",
            "serial": uuid,
            "data": {
                "name": f"{self.pool}/{disk_name(uuid)}",
                "hosts": list(hosts),
                "ports": list(ports),
                "auth_enabled": True,
                "auth_username": self.spec.user,
                "secret_type": "ceph",
                "secret_uuid": self.settings.rbd_secret_uuid or None,
                "discard": True,
            },
        }
        return VolumeDisk(uuid, "/dev/vda", info, boot=True, keyring=self.settings.rbd_keyring)

    def make(
        self, uuid: str, image_id: str, cache: ImageCache, root_bytes: int, keep: bool = False
    ) -> VolumeDisk:
        """The instance's root disk from its image: a clone when the image is an RBD
        snapshot of this cluster, else the cached image converted into the pool. With
        ``keep`` (an evacuation) a disk already in the pool is the instance's own: it is
        used as it is, grown to ``root_bytes`` if smaller."""
        if keep and self.grow(uuid, root_bytes):
            return self.disk(uuid)
        self.remove(uuid)  # what an earlier attempt (or the rebuilt disk) left
        info = cache.source.info(image_id) if cache.source is not None else None
        source = self.clone_source(info)
        if source is not None:
            self.create(uuid, source, root_bytes)
        else:
            cached = cache.get(image_id)
            size = max(root_bytes, cached.virtual_size)
            self.import_file(uuid, str(cached.path), cached.format, size)
        return self.disk(uuid)

    def exists(self, uuid: str) -> bool:
        """Whether the instance's root disk is in the pool (:class:`DriverError` when the
        cluster cannot tell)."""
        rbd = self._rbd
        with self._io() as ioctx:
            try:
                return disk_name(uuid) in rbd.RBD().list(ioctx)
            except (rbd.Error, OSError) as exc:
                raise DriverError(f"cannot list pool {self.pool}: {exc}") from exc

    def grow(self, uuid: str, size: int) -> bool:
        """Grow the root disk to ``size`` bytes if smaller (never shrunk); False when
        there is none."""
        rbd = self._rbd
        with self._io() as ioctx:
            try:
                with rbd.Image(ioctx, disk_name(uuid)) as disk:
                    if int(disk.size()) < size:
                        disk.resize(size)
                return True
            except rbd.ImageNotFound:
                return False
            except (rbd.Error, OSError) as exc:
                raise DriverError(f"cannot grow {self.pool}/{disk_name(uuid)}: {exc}") from exc

    # -- resize ----------------------------------------------------------------------------
    def size(self, uuid: str) -> int:
        with self._io() as ioctx, self._rbd.Image(ioctx, disk_name(uuid), read_only=True) as d:
            return int(d.size())

    def resize_started(self, uuid: str, size: int) -> None:
        """A resize's destination: the snapshot a revert returns to, then the disk grown
        to ``size`` (the disk is shared: nothing moves)."""
        with self._io() as ioctx, self._rbd.Image(ioctx, disk_name(uuid)) as disk:
            if RESIZE_SNAPSHOT not in {s["name"] for s in disk.list_snaps()}:
                disk.create_snap(RESIZE_SNAPSHOT)
            if int(disk.size()) < size:
                disk.resize(size)

    def resize_ended(self, uuid: str, revert: bool) -> None:
        """Confirmed: the snapshot goes; reverted: the disk is rolled back to it (data and
        size) first. A disk without it (or gone) is left as it is."""
        rbd = self._rbd
        with self._io() as ioctx:
            try:
                with rbd.Image(ioctx, disk_name(uuid)) as disk:
                    if RESIZE_SNAPSHOT not in {s["name"] for s in disk.list_snaps()}:
                        return
                    if revert:
                        disk.rollback_to_snap(RESIZE_SNAPSHOT)
                    disk.remove_snap(RESIZE_SNAPSHOT)
            except rbd.ImageNotFound:
                return

    # -- snapshot, delete ------------------------------------------------------------------
    def publish_snapshot(
        self, uuid: str, target: SnapshotTarget, base_image: dict[str, Any] | None
    ) -> bool:
        """Nova's direct snapshot published through ``target``; False when it cannot be
        (the caller uploads the data instead), with nothing left behind."""
        try:
            location = self.direct_snapshot(uuid, target.image_id, base_image)
        except SnapshotRefused as exc:
            LOG.warning("instance %s: standard snapshot, the direct one failed: %s", uuid, exc)
            return False
        try:
            target.publish(location)
        except SnapshotRefused as exc:
            LOG.warning("instance %s: standard snapshot, the direct one failed: %s", uuid, exc)
            self.discard_snapshot(location)
            return False
        except BaseException:
            self.discard_snapshot(location)
            raise
        return True

    def direct_snapshot(self, uuid: str, image_id: str, base_image: dict[str, Any] | None) -> str:
        """The root disk cloned and flattened into the image pool as ``image_id``, with
        its protected snapshot; its ``rbd://`` location. :class:`SnapshotRefused` when
        there is no pool to put it in or no write access to it."""
        rbd = self._rbd
        fsid = self.cluster.fsid()
        pool = self.parent_pool(uuid, base_image, fsid)
        name = disk_name(uuid)
        snap = uuidlib.uuid4().hex
        with self._io() as ioctx, rbd.Image(ioctx, name) as disk:
            disk.create_snap(snap)
            disk.protect_snap(snap)
        try:
            with self._io() as parent_io, self._io(pool) as child_io:
                try:
                    rbd.RBD().clone(parent_io, name, snap, child_io, image_id, features=None)
                except rbd.PermissionError as exc:
                    raise SnapshotRefused(f"no write permission on pool {pool}") from exc
                try:
                    with rbd.Image(child_io, image_id) as image:
                        image.flatten()
                except BaseException:
                    self._remove_image(child_io, image_id)
                    raise
        finally:
            self._drop_snap(name, snap)
        with self._io(pool) as child_io:
            try:
                with rbd.Image(child_io, image_id) as image:
                    image.create_snap(IMAGE_SNAPSHOT)
                    image.protect_snap(IMAGE_SNAPSHOT)
            except BaseException:
                self._remove_image(child_io, image_id)
                raise
        return f"rbd://{fsid}/{pool}/{image_id}/{IMAGE_SNAPSHOT}"

    def parent_pool(self, uuid: str, base_image: dict[str, Any] | None, fsid: str) -> str:
        """The image store's pool, as Nova infers it: the root disk's parent's (a clone),
        else that of the instance image's first location in this cluster."""
        rbd = self._rbd
        with self._io() as ioctx, rbd.Image(ioctx, disk_name(uuid), read_only=True) as disk:
            try:
                return str(disk.get_parent_image_spec()["pool_name"])
            except rbd.ImageNotFound:
                pass
        image = base_image or {}
        urls = [image.get("direct_url")]
        urls += [loc.get("url") for loc in image.get("locations") or [] if isinstance(loc, dict)]
        for url in urls:
            if isinstance(url, str) and url.startswith("rbd://"):
                parts = url.removeprefix("rbd://").split("/")
                if len(parts) == 4 and parts[0] == fsid and parts[1]:
                    return parts[1]
        raise SnapshotRefused(f"cannot tell the image pool of instance {uuid}'s image")

    def discard_snapshot(self, location: str) -> None:
        """Remove what :meth:`direct_snapshot` made at ``location`` (errors logged)."""
        parts = location.removeprefix("rbd://").split("/")
        if len(parts) != 4:
            return
        try:
            with self._io(parts[1]) as ioctx:
                self._remove_image(ioctx, parts[2])
        except Exception as exc:  # a cleanup: what it could not remove is logged
            LOG.warning("cannot remove the direct snapshot %s: %s", location, exc)

    def _drop_snap(self, name: str, snap: str) -> None:
        rbd = self._rbd
        with self._io() as ioctx, rbd.Image(ioctx, name) as disk:
            if disk.is_protected_snap(snap):
                disk.unprotect_snap(snap)
            disk.remove_snap(snap)

    def snapshot_to(self, uuid: str, target: Path) -> None:
        """The root disk as a standalone qcow2 file at ``target``, read from an RBD
        snapshot taken now (crash-consistent: the guest runs on), which then goes."""
        snap = f"snapshot-{uuidlib.uuid4().hex}"
        name = disk_name(uuid)
        with self._io() as ioctx, self._rbd.Image(ioctx, name) as image:
            image.create_snap(snap)
        try:
            url = self._qemu_url(f"{name}@{snap}")
            cmd = ["qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", url, str(target)]
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False)
            if result.returncode != 0:
                raise DriverError(f"qemu-img convert failed: {result.stderr.strip()[-500:]}")
        finally:
            with self._io() as ioctx, self._rbd.Image(ioctx, name) as image:
                image.remove_snap(snap)

    def _qemu_url(self, name: str) -> str:
        """QEMU's rbd: file name (the key comes from the keyring ceph.conf names)."""
        return f"rbd:{self.pool}/{name}:id={self.spec.user}:conf={self.spec.conf_file}"

    def remove(self, uuid: str) -> None:
        """Remove the root disk and its snapshots; a missing disk is not an error."""
        with self._io() as ioctx:
            self._remove_image(ioctx, disk_name(uuid))

    def _remove_image(self, ioctx: Any, name: str) -> None:
        """Remove an image and its snapshots; a missing one is not an error."""
        rbd = self._rbd
        deadline = time.monotonic() + BUSY_TIMEOUT
        try:
            with rbd.Image(ioctx, name) as image:
                for snap in list(image.list_snaps()):
                    if image.is_protected_snap(snap["name"]):
                        image.unprotect_snap(snap["name"])
                    image.remove_snap(snap["name"])
        except rbd.ImageNotFound:
            pass  # none, or a create killed half-way that only a remove clears
        while True:
            try:
                rbd.RBD().remove(ioctx, name)
                return
            except rbd.ImageNotFound:
                return
            except rbd.ImageBusy:
                if time.monotonic() > deadline:
                    raise DriverError(f"{ioctx.get_pool_name()}/{name} is still open") from None
                time.sleep(1)

    def close(self) -> None:
        self.cluster.close()
