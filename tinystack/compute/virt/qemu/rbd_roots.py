"""Root disks as RBD images (``[compute] images_type = rbd``; Nova's Rbd image backend).

An instance's root disk is ``<uuid>_disk`` in ``images_rbd_pool`` (``vms``). When the
image service keeps the image as an RBD snapshot of this cluster (its ``direct_url`` or
a location ``rbd://<fsid>/<pool>/<image>/<snap>``) and the image is raw, the disk is a
copy-on-write clone of that snapshot: nothing is downloaded. Otherwise the cached image
is converted into the pool. Either way the disk is grown to the flavor's root size.

QEMU opens it through librbd like an rbd volume (:class:`VolumeDisk` with an ``rbd``
connection info: monitors, pool/image, ``rbd_user``, and ``rbd_secret_uuid``, whose
key QEMU gets as a ``secret`` object from a 0600 file read from ``rbd_keyring``: never
on a command line). Deleting the instance removes the image (its snapshots first).
A snapshot for ``createImage`` is an RBD snapshot, read while the guest runs on into a
qcow2 file that is uploaded like a file root disk's (the image service stores it in its
pool); upstream's direct snapshot (a flattened clone in the images pool, its location
added to the image) needs write access to that pool and Glance's location API.
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
from tinystack.compute.virt.driver import DriverError
from tinystack.compute.virt.qemu.imagecache import ImageCache
from tinystack.compute.virt.qemu.settings import QemuSettings
from tinystack.compute.virt.qemu.volumes import VolumeDisk

LOG = logging.getLogger(__name__)
#: seconds a removal waits for a killed QEMU's watch to expire (osd_client_watch_timeout)
BUSY_TIMEOUT = 45.0


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

    def make(self, uuid: str, image_id: str, cache: ImageCache, root_bytes: int) -> VolumeDisk:
        """The instance's root disk from its image: a clone when the image is an RBD
        snapshot of this cluster, else the cached image converted into the pool."""
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

    # -- snapshot, delete ------------------------------------------------------------------
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
        rbd = self._rbd
        name = disk_name(uuid)
        deadline = time.monotonic() + BUSY_TIMEOUT
        with self._io() as ioctx:
            try:
                with rbd.Image(ioctx, name) as image:
                    for snap in list(image.list_snaps()):
                        if image.is_protected_snap(snap["name"]):
                            image.unprotect_snap(snap["name"])
                        image.remove_snap(snap["name"])
            except rbd.ImageNotFound:
                return
            while True:
                try:
                    rbd.RBD().remove(ioctx, name)
                    return
                except rbd.ImageNotFound:
                    return
                except rbd.ImageBusy:
                    if time.monotonic() > deadline:
                        raise DriverError(f"{self.pool}/{name} is still open") from None
                    time.sleep(1)

    def close(self) -> None:
        self.cluster.close()
