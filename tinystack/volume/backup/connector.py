"""Open what a volume manager exported for the backup service (os-brick's job upstream).

``file``: the storage host's own file (this service runs on that host): a raw file is
opened directly, a qcow2 file through a private ``qemu-storage-daemon`` NBD export
(``drivers/volume_io.py``), since only QEMU's block layer knows its guest-visible bytes.
``nbd``: the backend's NBD export over the network, with the userspace NBD client.
``rbd``: the RBD image (or snapshot) through librbd, as the connection info's cephx user
with the backup service's ``ceph.conf`` (whose keyring holds that user's key: the key is
never part of the connection info). The ``ceph`` backup driver takes RBD devices itself
(:func:`rbd_volume`) to read snapshot diffs.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

from tinystack.common import ceph
from tinystack.common.nbd import NBDConnection, NBDFile
from tinystack.volume.backup.ceph import RbdVolume
from tinystack.volume.drivers.rbd import RbdFile
from tinystack.volume.drivers.storage_daemon import StorageDaemon
from tinystack.volume.drivers.volume_io import open_qcow2, open_raw
from tinystack.volume.payloads import Device


def run_dir(state_dir: Path) -> Path:
    """Short (unix socket paths are limited) and per state directory."""
    base = Path("/run") if os.access("/run", os.W_OK) else Path(tempfile.gettempdir())
    digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:16]
    path = base / "tinystack-backup" / digest
    path.mkdir(parents=True, exist_ok=True)
    return path


def stop_leftovers(sockets: Path) -> int:
    """Stop the private daemons a killed backup service left running (they are not its
    children: ``--daemonize``) and remove their directories; returns how many ran."""
    stopped = 0
    for entry in sorted(sockets.glob("open-*")):
        daemon = StorageDaemon(entry, None)
        if daemon.pid() is not None:
            daemon.stop()
            stopped += 1
        shutil.rmtree(entry, ignore_errors=True)
    return stopped


def rbd_volume(device: Device, snapshot: bool = True) -> RbdVolume:
    """The RBD image an ``rbd`` device names (with its snapshot when ``snapshot``)."""
    data = device.data
    pool, _, image = str(data["name"]).partition("/")
    snap = data.get("snap_name") if snapshot else None
    return RbdVolume(str(data["auth_username"]), pool, image, str(snap) if snap else None)


@contextlib.contextmanager
def _open_rbd(device: Device, write: bool, conf: str) -> Iterator[BinaryIO]:
    if not conf:
        raise ValueError("an rbd device needs [volume] backup_ceph_conf")
    source = rbd_volume(device)
    rbd = ceph.bindings().rbd
    with (
        ceph.ioctx(ceph.ClusterSpec(conf, source.user), source.pool) as ioctx,
        rbd.Image(ioctx, source.image, snapshot=source.snap, read_only=not write) as image,
    ):
        raw = RbdFile(image, write)
        stream = io.BufferedRandom(raw) if write else io.BufferedReader(raw)
        yield cast(BinaryIO, stream)
        if write:
            stream.flush()
            image.flush()


@contextlib.contextmanager
def open_device(
    device: Device, write: bool, sockets: Path, ceph_conf: str = ""
) -> Iterator[BinaryIO]:
    data = device.data
    if device.driver_volume_type == "rbd":
        with _open_rbd(device, write, ceph_conf) as f:
            yield f
        return
    if device.driver_volume_type == "file":
        path = Path(str(data.get("path") or data.get("device_path")))
        if str(data.get("format", "raw")) == "raw":
            with open_raw(path, write) as f:
                yield f
        else:
            with open_qcow2(path, sockets, write, shared=False) as f:
                yield f
        return
    if device.driver_volume_type == "nbd":
        address = (str(data["host"]), int(str(data["port"])))
        nbd = NBDFile(NBDConnection(address, str(data["export_name"])), writable=write)
        try:
            yield cast(BinaryIO, nbd)
        finally:
            nbd.close()
        return
    raise ValueError(f"cannot open a {device.driver_volume_type} device")
