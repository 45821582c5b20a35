"""A verified cache of image files that volumes are created from (and backed by).

``<dir>/<image_id>`` is the image's data in a format volumes can use as backing file
(qcow2 or raw), ``<image_id>.json`` what is known of it (format, virtual size, the
hash it was verified with) and, by its modification time, its last use. The data is
downloaded once: a caller takes the image's lock file exclusively to fetch it while
others wait, then everyone uses it under a shared lock.

Verification: the bytes are hashed while they stream in (Glance's ``checksum``, MD5,
and ``os_hash_algo``/``os_hash_value``, the multihash) and compared with the image's
size; a mismatch deletes the download and raises. The declared ``disk_format`` is used
to open the data (never probed: a raw image may hold a qcow2 header pointing at a
host file); a qcow2 with a backing or data file is refused; formats QEMU cannot back an
overlay with well (vmdk, vdi, vhd, vhdx) are converted to qcow2 once, here.

Eviction keeps the cache under ``max_bytes``, least recently used first, but never an
image in use: neither one a live overlay names as its backing file (``in_use``, which
the file driver answers with ``FileDriver.backing_files``), nor one a caller holds
(its shared lock makes the evictor's non-blocking exclusive lock fail).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tinystack.volume.drivers import qemu_img
from tinystack.volume.drivers.errors import BackendError

LOG = logging.getLogger(__name__)
#: disk_format -> the format the cache keeps (None: refused)
KEPT_FORMATS = {"qcow2": "qcow2", "raw": "raw", "iso": "raw"}
CONVERTED_FORMATS = {"vmdk": "vmdk", "vdi": "vdi", "vhd": "vpc", "vhdx": "vhdx"}


class ImageVerifyError(BackendError):
    """The downloaded data does not match the image's size or hashes, or is unsafe."""


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """What the image service says of the image (its record's fields)."""

    image_id: str
    disk_format: str
    size: int | None = None
    checksum: str | None = None
    os_hash_algo: str | None = None
    os_hash_value: str | None = None


@dataclass(frozen=True, slots=True)
class CachedImage:
    path: Path
    format: str
    virtual_size: int


class ImageCache:
    """Images under ``directory``; see the module docstring."""

    def __init__(
        self,
        directory: Path,
        max_bytes: int,
        in_use: Callable[[], set[Path]] = set,
        require_hash: bool = True,
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.in_use = in_use
        self.require_hash = require_hash
        self._evict_lock = threading.Lock()
        directory.mkdir(parents=True, exist_ok=True)

    def _lock(self, image_id: str) -> Path:
        return self.directory / f".lock-{image_id}"

    def _entry(self, image_id: str) -> CachedImage | None:
        meta = self.directory / f"{image_id}.json"
        data = self.directory / image_id
        try:
            info = json.loads(meta.read_text())
        except (FileNotFoundError, ValueError):
            return None
        if not data.exists():
            return None
        return CachedImage(data.resolve(), info["format"], int(info["virtual_size"]))

    @contextlib.contextmanager
    def use(self, spec: ImageSpec, fetch: Callable[[], Iterable[bytes]]) -> Iterator[CachedImage]:
        """The verified image, downloaded with ``fetch`` (an iterator of its bytes) if
        it is not cached; it cannot be evicted while the ``with`` block runs."""
        _check_id(spec.image_id)
        lock = self._lock(spec.image_id)
        with open(lock, "a+b") as fd:
            while True:
                fcntl.flock(fd, fcntl.LOCK_SH)
                entry = self._entry(spec.image_id)
                if entry is not None:
                    break
                fcntl.flock(fd, fcntl.LOCK_EX)  # converts: one caller downloads
                if self._entry(spec.image_id) is None:
                    self._download(spec, fetch)
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.utime(self.directory / f"{spec.image_id}.json")  # last use
            try:
                yield entry
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        self.evict()

    def _download(self, spec: ImageSpec, fetch: Callable[[], Iterable[bytes]]) -> None:
        """Stream, verify, convert if needed, and publish the entry atomically."""
        kept = KEPT_FORMATS.get(spec.disk_format)
        if kept is None and spec.disk_format not in CONVERTED_FORMATS:
            raise ImageVerifyError(f"disk_format {spec.disk_format} cannot back a volume")
        if self.require_hash and not (spec.checksum or spec.os_hash_value):
            raise ImageVerifyError(f"image {spec.image_id} has no checksum to verify")
        part = self.directory / f".part-{spec.image_id}"
        conv = self.directory / f".conv-{spec.image_id}"
        try:
            _fetch_verified(spec, fetch, part)
            src_fmt = kept or CONVERTED_FORMATS[spec.disk_format]
            info = qemu_img.info(part, src_fmt)
            if info.backing_file or info.data_file:
                raise ImageVerifyError(f"image {spec.image_id} has a backing or data file")
            fmt = src_fmt
            if kept is None:
                qemu_img.convert(part, src_fmt, conv, "qcow2")
                os.replace(conv, part)
                fmt = "qcow2"
                info = qemu_img.info(part, fmt)
            os.chmod(part, 0o444)  # a backing file is never written
            os.replace(part, self.directory / spec.image_id)
            meta = {
                "format": fmt,
                "virtual_size": info.virtual_size,
                "disk_format": spec.disk_format,
                "os_hash_algo": spec.os_hash_algo,
                "os_hash_value": spec.os_hash_value,
                "checksum": spec.checksum,
            }
            _write_atomic(self.directory / f"{spec.image_id}.json", json.dumps(meta))
        finally:
            part.unlink(missing_ok=True)
            conv.unlink(missing_ok=True)

    def entries(self) -> list[tuple[str, float, int]]:
        """(image id, last use, bytes on disk) of every cached image."""
        found = []
        for meta in self.directory.glob("*.json"):
            data = self.directory / meta.stem
            try:
                found.append((meta.stem, meta.stat().st_mtime, data.stat().st_blocks * 512))
            except FileNotFoundError:
                continue
        return found

    def evict(self) -> list[str]:
        """Remove least recently used images until the cache fits ``max_bytes``;
        skips images in use. Returns the ids removed."""
        with self._evict_lock:
            entries = sorted(self.entries(), key=lambda e: e[1])
            total = sum(e[2] for e in entries)
            if total <= self.max_bytes:
                return []
            used = self.in_use()
            removed = []
            for image_id, _last, size in entries:
                if total <= self.max_bytes:
                    break
                data = self.directory / image_id
                if data.resolve() in used:
                    continue
                if self._remove_unless_locked(image_id):
                    total -= size
                    removed.append(image_id)
            if total > self.max_bytes:
                LOG.info("image cache over its limit: the rest is in use")
            return removed

    def _remove_unless_locked(self, image_id: str) -> bool:
        with open(self._lock(image_id), "a+b") as fd:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            (self.directory / f"{image_id}.json").unlink(missing_ok=True)
            (self.directory / image_id).unlink(missing_ok=True)
            LOG.info("evicted image %s from the volume image cache", image_id)
            return True


def _check_id(image_id: str) -> None:
    if not image_id or "/" in image_id or image_id.startswith("."):
        raise ValueError(f"bad image id {image_id!r}")


def _fetch_verified(spec: ImageSpec, fetch: Callable[[], Iterable[bytes]], dest: Path) -> None:
    """Write the image's bytes to ``dest`` while hashing them; raise on any mismatch."""
    md5 = hashlib.md5(usedforsecurity=False)
    multi = None
    if spec.os_hash_algo and spec.os_hash_value:
        try:
            multi = hashlib.new(spec.os_hash_algo)
        except ValueError as exc:
            raise ImageVerifyError(f"unknown os_hash_algo {spec.os_hash_algo}") from exc
    size = 0
    started = time.monotonic()
    with open(dest, "wb") as out:
        for block in fetch():
            md5.update(block)
            if multi is not None:
                multi.update(block)
            out.write(block)
            size += len(block)
        out.flush()
        os.fsync(out.fileno())
    if spec.size is not None and size != spec.size:
        raise ImageVerifyError(f"image {spec.image_id}: got {size} bytes, expected {spec.size}")
    if spec.checksum and md5.hexdigest() != spec.checksum:
        raise ImageVerifyError(f"image {spec.image_id}: checksum mismatch")
    if multi is not None and multi.hexdigest() != spec.os_hash_value:
        raise ImageVerifyError(f"image {spec.image_id}: {spec.os_hash_algo} mismatch")
    LOG.info("cached image %s: %d bytes in %.1fs", spec.image_id, size, time.monotonic() - started)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".tmp-{path.name}")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
