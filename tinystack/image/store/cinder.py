"""A store in the Block Storage service (Glance's ``cinder`` store): one volume per image.

Each image's data lives in its own volume (``image-<image id>``), created through the
Block Storage v3 API with the image service's own service credentials, so the volumes
belong to the service project. Data is written and read through an attachment made
for this host (``POST /attachments`` with a connector whose ``host`` is this host, then
``os-complete``; 3.27/3.44/3.54):

- a ``file`` connection (this host is the volume's storage host): the path itself, when
  the volume is raw; a qcow2 volume file is written by ``qemu-img convert`` from a
  spooled raw file and read back the same way (only QEMU knows its guest-visible bytes);
- an ``nbd`` connection (``host``, ``port``, ``export_name``, raw bytes): the userspace
  NBD client of :mod:`tinystack.common.nbd`.

The volume starts at 1 GiB (or the size it needs) and is extended while data keeps
coming, as upstream does for uploads of unknown size. The exact byte count is kept in
the volume's ``image_size`` metadata; the location is ``cinder://<volume id>``.
Deleting the location deletes the volume (and any attachment left by a crash).
Downloads of one volume on this host take turns (one attachment at a time), as
upstream's per-volume lock does.
"""

from __future__ import annotations

import contextlib
import math
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tinystack.common.clients.session import ClientError, ClientNotFound, Session
from tinystack.common.nbd import NBDConnection
from tinystack.image.store.base import DataNotFound, DataReader, Store, StoreError, StoreWriter

GiB = 1024**3
#: the attachments API with ``mode`` (3.54) and ``os-complete`` (3.44)
MICROVERSION = "volume 3.54"
SERVICE = "block-storage"
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _volume_lock(volume_id: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(volume_id, threading.Lock())


class Volumes:
    """The few Block Storage calls the store makes, with the service's own token."""

    def __init__(self, session: Session, connector_host: str, timeout: float) -> None:
        self.session = session
        self.connector_host = connector_host
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = ()) -> Any:
        response = self.session.request(
            SERVICE,
            method,
            path,
            json_body=body,
            headers={"OpenStack-API-Version": MICROVERSION},
            ok=ok or (200, 201, 202, 204),
        )
        return response.json() if response.content else {}

    def show(self, volume_id: str) -> dict[str, Any]:
        volume: dict[str, Any] = self._call("GET", f"/volumes/{volume_id}")["volume"]
        return volume

    def create(self, name: str, size_gb: int, volume_type: str, image_id: str) -> str:
        body: dict[str, Any] = {
            "name": name,
            "size": size_gb,
            "description": "image data of the image service",
            "metadata": {"glance_image_id": image_id},
        }
        if volume_type:
            body["volume_type"] = volume_type
        volume_id = str(self._call("POST", "/volumes", {"volume": body})["volume"]["id"])
        self.wait(volume_id, "available")
        return volume_id

    def wait(self, volume_id: str, wanted: str) -> None:
        deadline = time.monotonic() + self.timeout
        delay = 0.05
        while True:
            status = self.show(volume_id)["status"]
            if status == wanted:
                return
            if status.startswith("error"):
                raise StoreError(f"volume {volume_id} went to {status} (waiting for {wanted})")
            if time.monotonic() > deadline:
                raise StoreError(f"volume {volume_id} still {status} after {self.timeout}s")
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def attach(self, volume_id: str, mode: str) -> tuple[str, dict[str, Any]]:
        """Attach to this host; the attachment id and its connection info."""
        connector = {
            "host": self.connector_host,
            "ip": "127.0.0.1",
            "initiator": f"iqn.2010-10.org.openstack:{self.connector_host}",
            "platform": os.uname().machine,
            "os_type": "linux",
            "multipath": False,
        }
        body = {"attachment": {"volume_uuid": volume_id, "connector": connector, "mode": mode}}
        attachment = self._call("POST", "/attachments", body)["attachment"]
        attachment_id = str(attachment["id"])
        try:
            self._call("POST", f"/attachments/{attachment_id}/action", {"os-complete": None})
        except BaseException:
            self.detach(attachment_id)
            raise
        return attachment_id, dict(attachment.get("connection_info") or {})

    def detach(self, attachment_id: str) -> None:
        with contextlib.suppress(ClientNotFound):
            self._call("DELETE", f"/attachments/{attachment_id}")

    def extend(self, volume_id: str, size_gb: int) -> None:
        self._call("POST", f"/volumes/{volume_id}/action", {"os-extend": {"new_size": size_gb}})
        self.wait(volume_id, "available")

    def set_size(self, volume_id: str, size: int) -> None:
        body = {"metadata": {"image_size": str(size)}}
        self._call("POST", f"/volumes/{volume_id}/metadata", body)

    def delete(self, volume_id: str) -> None:
        try:
            found = self._call("GET", f"/attachments?volume_id={volume_id}")["attachments"]
            for attachment in found:
                self.detach(str(attachment["id"]))
            if found:
                self.wait(volume_id, "available")
            self._call("DELETE", f"/volumes/{volume_id}")
        except ClientNotFound:
            return


class Device:
    """Raw bytes of an attached volume: ``pread``/``pwrite`` at offsets, then ``close``."""

    def __init__(self, info: dict[str, Any], spool_dir: Path, writable: bool) -> None:
        self.kind = str(info.get("driver_volume_type", ""))
        self._nbd: NBDConnection | None = None
        self._fd: int | None = None
        self._spool: Path | None = None
        self._target = ""
        self._format = "raw"
        self._writable = writable
        if self.kind == "nbd":
            address = (str(info["host"]), int(info["port"]))
            self._nbd = NBDConnection(address, str(info["export_name"]))
        elif self.kind == "file":
            self._target = str(info.get("device_path") or info["path"])
            self._format = str(info.get("format") or "raw")
            if self._format == "raw":
                flags = os.O_RDWR if writable else os.O_RDONLY
                self._fd = os.open(self._target, flags | os.O_CLOEXEC)
            else:
                self._open_spool(spool_dir)
        else:
            raise StoreError(f"cannot use a {self.kind or 'missing'} connection of a volume")

    def _open_spool(self, spool_dir: Path) -> None:
        """A raw copy for a file only QEMU reads (qcow2): converted on close or now."""
        spool_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="cinder-", suffix=".raw", dir=spool_dir)
        os.close(fd)
        self._spool = Path(name)
        if not self._writable:
            self._convert(self._target, self._format, str(self._spool), "raw", existing=False)
        self._fd = os.open(self._spool, os.O_RDWR | os.O_CLOEXEC)

    @staticmethod
    def _convert(src: str, src_fmt: str, dst: str, dst_fmt: str, *, existing: bool) -> None:
        cmd = ["qemu-img", "convert", "-f", src_fmt, "-O", dst_fmt, "-t", "none", "-T", "none"]
        if existing:
            cmd.append("-n")
        result = subprocess.run([*cmd, src, dst], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise StoreError(f"qemu-img convert failed: {result.stderr.strip()[-500:]}")

    @property
    def spooled(self) -> bool:
        """Whether writes go to a raw spool converted into the volume on close."""
        return self._spool is not None

    def retarget(self, info: dict[str, Any]) -> None:
        """Convert into the file of a new attachment (the volume was re-attached)."""
        self._target = str(info.get("device_path") or info["path"])

    @property
    def size(self) -> int:
        if self._nbd is not None:
            return self._nbd.size
        assert self._fd is not None
        return os.fstat(self._fd).st_size

    def pwrite(self, data: bytes, offset: int) -> None:
        if self._nbd is not None:
            self._nbd.pwrite(data, offset)
            return
        assert self._fd is not None
        view = memoryview(data)
        while view:
            written = os.pwrite(self._fd, view, offset)
            view, offset = view[written:], offset + written

    def pread(self, length: int, offset: int) -> bytes:
        if self._nbd is not None:
            buf = bytearray(length)
            got = self._nbd.pread_into(memoryview(buf), offset)
            return bytes(buf[:got])
        assert self._fd is not None
        return os.pread(self._fd, length, offset)

    def close(self, *, save: bool) -> None:
        """Flush (and for a spooled qcow2, convert into the volume when ``save``)."""
        try:
            if self._nbd is not None:
                if save:
                    self._nbd.flush()
                self._nbd.close()
                self._nbd = None
            if self._fd is not None:
                if save:
                    os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None
            if self._spool is not None and save and self._writable:
                self._convert(str(self._spool), "raw", self._target, self._format, existing=True)
        finally:
            if self._spool is not None:
                self._spool.unlink(missing_ok=True)
                self._spool = None


class CinderWriter(StoreWriter):
    def __init__(self, store: CinderStore, key: str) -> None:
        self._store = store
        self._api = store.volumes
        self._written = 0
        self._capacity_gb = 1
        self._attachment: str | None = None
        self._device: Device | None = None
        self.volume_id: str | None = self._api.create(f"image-{key}", 1, store.volume_type, key)
        try:
            self._attach()
        except BaseException:
            self.abort()
            raise

    def _attach(self) -> None:
        assert self.volume_id is not None
        self._attachment, info = self._api.attach(self.volume_id, "rw")
        self._device = Device(info, self._store.spool_dir, writable=True)

    def _detach(self, *, save: bool) -> None:
        device, self._device = self._device, None
        attachment, self._attachment = self._attachment, None
        try:
            if device is not None:
                device.close(save=save)
        finally:
            if attachment is not None:
                self._api.detach(attachment)

    def _grow(self, needed: int) -> None:
        """Extend the volume (detached, as upstream) to hold ``needed`` bytes."""
        assert self.volume_id is not None and self._device is not None
        new_gb = max(math.ceil(needed / GiB), self._capacity_gb * 2)
        if self._device.spooled:
            # the spool holds the data until commit; only the volume needs the room
            self._capacity_gb = new_gb
            return
        self._detach(save=True)
        self._api.wait(self.volume_id, "available")
        self._api.extend(self.volume_id, new_gb)
        self._capacity_gb = new_gb
        self._attach()

    def write(self, chunks: Iterable[bytes]) -> None:
        if self._device is None:
            raise StoreError("the writer is closed")
        for chunk in chunks:
            if not chunk:
                continue
            end = self._written + len(chunk)
            if end > self._capacity_gb * GiB:
                self._grow(end)
            assert self._device is not None
            self._device.pwrite(chunk, self._written)
            self._written = end

    def commit(self) -> str:
        if self._device is None or self.volume_id is None:
            raise StoreError("the writer is closed")
        try:
            if self._device.spooled and self._capacity_gb > 1:
                # a spooled (qcow2) volume is extended before the conversion writes it
                spool_device = self._device
                self._device = None
                attachment, self._attachment = self._attachment, None
                assert attachment is not None
                self._api.detach(attachment)
                self._api.wait(self.volume_id, "available")
                self._api.extend(self.volume_id, self._capacity_gb)
                self._attachment, info = self._api.attach(self.volume_id, "rw")
                spool_device.retarget(info)
                self._device = spool_device
            self._detach(save=True)
            self._api.wait(self.volume_id, "available")
            self._api.set_size(self.volume_id, self._written)
        except BaseException:
            self.abort()
            raise
        return f"cinder://{self.volume_id}"

    def abort(self) -> None:
        volume_id, self.volume_id = self.volume_id, None
        try:
            self._detach(save=False)
        except (ClientError, OSError, StoreError):
            pass
        if volume_id is not None:
            with contextlib.suppress(ClientError, StoreError):
                self._api.delete(volume_id)


class CinderReader(DataReader):
    def __init__(self, store: CinderStore, volume_id: str, offset: int, length: int | None) -> None:
        total = store.size(f"cinder://{volume_id}")
        self._api = store.volumes
        self._chunk = store.chunk_size
        self.size = max(0, total - offset) if length is None else min(length, total - offset)
        self._offset = offset
        self._remaining = self.size
        self._lock = _volume_lock(volume_id)
        if not self._lock.acquire(timeout=store.volumes.timeout):
            raise StoreError(f"volume {volume_id} is busy")
        self._attachment: str | None = None
        self._device: Device | None = None
        try:
            self._attachment, info = self._api.attach(volume_id, "ro")
            self._device = Device(info, store.spool_dir, writable=False)
        except BaseException:
            self.close()
            raise

    def read(self) -> bytes:
        if self._remaining <= 0:
            return b""
        if self._device is None:
            raise StoreError("the reader is closed")
        chunk = self._device.pread(min(self._chunk, self._remaining), self._offset)
        if not chunk:
            raise StoreError("the stored data ended early")
        self._offset += len(chunk)
        self._remaining -= len(chunk)
        return chunk

    def close(self) -> None:
        device, self._device = self._device, None
        attachment, self._attachment = self._attachment, None
        try:
            if device is not None:
                device.close(save=False)
            if attachment is not None:
                self._api.detach(attachment)
        finally:
            if self._lock.locked():
                with contextlib.suppress(RuntimeError):
                    self._lock.release()


class CinderStore(Store):
    type = "cinder"

    def __init__(
        self,
        session: Session,
        *,
        store_id: str,
        spool_dir: Path,
        description: str = "",
        weight: int = 0,
        volume_type: str = "",
        connector_host: str = "",
        state_timeout: float = 300.0,
        chunk_size: int = 1024 * 1024,
    ) -> None:
        self.id = store_id
        self.description = description or f"Block Storage store {store_id}"
        self.weight = weight
        self.volume_type = volume_type
        self.spool_dir = spool_dir
        self.chunk_size = chunk_size
        host = connector_host or os.uname().nodename
        self.volumes = Volumes(session, host, state_timeout)

    def handles(self, location: str) -> bool:
        return urlparse(location).scheme == "cinder"

    def properties(self) -> dict[str, object]:
        return {"volume_type": self.volume_type or None}

    @staticmethod
    def volume_id(location: str) -> str:
        parsed = urlparse(location)
        volume_id = parsed.netloc or parsed.path.lstrip("/")
        if parsed.scheme != "cinder" or not volume_id or "/" in volume_id:
            raise StoreError(f"not a cinder store location: {location}")
        return volume_id

    def open_writer(self, key: str) -> StoreWriter:
        if not key or "/" in key:
            raise StoreError(f"invalid key {key!r}")
        try:
            return CinderWriter(self, key)
        except ClientError as exc:
            raise StoreError(f"cannot create the image's volume: {exc}") from exc

    def open_reader(self, location: str, offset: int = 0, length: int | None = None) -> DataReader:
        try:
            return CinderReader(self, self.volume_id(location), offset, length)
        except ClientNotFound:
            raise DataNotFound(location) from None
        except (ClientError, OSError) as exc:
            raise StoreError(f"cannot read {location}: {exc}") from exc

    def size(self, location: str) -> int:
        try:
            volume = self.volumes.show(self.volume_id(location))
        except ClientNotFound:
            raise DataNotFound(location) from None
        except ClientError as exc:
            raise StoreError(f"cannot reach the volume service: {exc}") from exc
        metadata = volume.get("metadata") or {}
        try:
            return int(metadata["image_size"])
        except (KeyError, ValueError):
            return int(volume.get("size") or 0) * GiB

    def delete(self, location: str) -> None:
        try:
            self.volumes.delete(self.volume_id(location))
        except ClientError as exc:
            raise StoreError(f"cannot delete {location}: {exc}") from exc
