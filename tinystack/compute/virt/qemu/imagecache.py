"""Base images: fetched from the image service once, checksum verified, shared, cleaned.

``<image-cache>/<image_id>`` is the base file every instance's qcow2 overlay points at;
``<image_id>.json`` records its format and virtual size, and its modification time is
the last use. Formats other than qcow2 and raw are converted to qcow2 on the way in; a
qcow2 with a backing or data file is refused (it could read host files). The cleanup
removes entries no instance refers to once they have been unused long enough.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import httpx

from tinystack.compute.virt.driver import DriverError

LOG = logging.getLogger(__name__)
CHUNK = 1 << 20
DIRECT_FORMATS = ("qcow2", "raw")


class ImageSource(Protocol):
    """Where base images come from (the image service, or files in tests)."""

    def info(self, image_id: str) -> dict[str, Any] | None:
        """The image's record (``disk_format``, ``checksum``, ``os_hash_*``, ``status``)."""

    def download(self, image_id: str, out: BinaryIO) -> None:
        """Write the image's data to ``out``."""


class ServiceImageSource:
    """The image service through the compute service's session (service token)."""

    def __init__(self, client: Any) -> None:
        #: a :class:`tinystack.common.clients.image.ImageClient`
        self.client = client

    def info(self, image_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.client.get(image_id)
        return found

    def download(self, image_id: str, out: BinaryIO) -> None:
        session = self.client.session
        url = session.endpoint("image") + f"/v2/images/{image_id}/file"
        for attempt in (1, 2):
            headers = {"X-Auth-Token": session.token(refresh=attempt == 2)}
            try:
                with (
                    httpx.Client(timeout=httpx.Timeout(60.0, read=300.0)) as http,
                    http.stream("GET", url, headers=headers) as response,
                ):
                    if response.status_code == 401 and attempt == 1:
                        continue
                    if response.status_code != 200:
                        response.read()
                        raise DriverError(
                            f"image {image_id}: the image service answered "
                            f"{response.status_code}: {response.text[:300]}"
                        )
                    for chunk in response.iter_bytes(CHUNK):
                        out.write(chunk)
                    return
            except httpx.HTTPError as exc:
                raise DriverError(f"cannot download image {image_id}: {exc}") from exc


class FileImageSource:
    """Images as local files (tests, benchmarks): image id -> (path, record)."""

    def __init__(self) -> None:
        self.images: dict[str, tuple[Path, dict[str, Any]]] = {}

    def add(self, image_id: str, path: Path, disk_format: str = "qcow2") -> dict[str, Any]:
        md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha512()
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                md5.update(chunk)
                sha.update(chunk)
        record = {
            "id": image_id,
            "status": "active",
            "disk_format": disk_format,
            "container_format": "bare",
            "checksum": md5.hexdigest(),
            "os_hash_algo": "sha512",
            "os_hash_value": sha.hexdigest(),
            "size": path.stat().st_size,
        }
        self.images[image_id] = (path, record)
        return record

    def info(self, image_id: str) -> dict[str, Any] | None:
        found = self.images.get(image_id)
        return dict(found[1]) if found else None

    def download(self, image_id: str, out: BinaryIO) -> None:
        path = self.images[image_id][0]
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                out.write(chunk)


@dataclass(frozen=True)
class CachedImage:
    image_id: str
    path: Path
    format: str
    virtual_size: int


def qemu_img_info(path: Path, fmt: str | None = None) -> dict[str, Any]:
    cmd = ["qemu-img", "info", "--output=json", "-U"]
    if fmt:
        cmd += ["-f", fmt]
    try:
        proc = subprocess.run([*cmd, str(path)], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DriverError(f"qemu-img info {path} failed: {exc}") from exc
    if proc.returncode != 0:
        raise DriverError(f"qemu-img info {path} failed: {proc.stderr.strip()}")
    info: dict[str, Any] = json.loads(proc.stdout)
    return info


class _Digests:
    def __init__(self, out: BinaryIO, algo: str | None) -> None:
        self.out = out
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.other = hashlib.new(algo) if algo and algo in hashlib.algorithms_available else None
        self.size = 0

    def write(self, data: bytes) -> int:
        self.md5.update(data)
        if self.other is not None:
            self.other.update(data)
        self.size += len(data)
        return self.out.write(data)


class ImageCache:
    def __init__(self, root: Path, source: ImageSource | None) -> None:
        self.root = root
        self.source = source
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def path(self, image_id: str) -> Path:
        if not image_id or "/" in image_id or image_id.startswith("."):
            raise DriverError(f"bad image id {image_id!r}")
        return self.root / image_id

    @contextlib.contextmanager
    def _lock(self, image_id: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(image_id, threading.Lock())
        with lock:
            self.root.mkdir(parents=True, exist_ok=True)
            with open(self.root / f".{image_id}.lock", "a") as f:
                fcntl.flock(f, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(f, fcntl.LOCK_UN)

    def _load(self, image_id: str) -> CachedImage | None:
        base = self.path(image_id)
        meta = base.with_name(base.name + ".json")
        try:
            data = json.loads(meta.read_text())
        except (OSError, ValueError):
            return None
        if not base.is_file():
            return None
        return CachedImage(image_id, base, str(data["format"]), int(data["virtual_size"]))

    def get(self, image_id: str) -> CachedImage:
        """The cached base image, fetched (and verified) first if needed."""
        found = self._load(image_id)
        if found is None:
            with self._lock(image_id):
                found = self._load(image_id) or self._fetch(image_id)
        self.touch(image_id)
        return found

    def touch(self, image_id: str) -> None:
        meta = self.path(image_id).with_name(image_id + ".json")
        with contextlib.suppress(OSError):
            os.utime(meta)

    def _fetch(self, image_id: str) -> CachedImage:
        if self.source is None:
            raise DriverError(f"image {image_id} is not cached and there is no image service")
        info = self.source.info(image_id)
        if info is None:
            raise DriverError(f"image {image_id} does not exist")
        if info.get("status", "active") != "active":
            raise DriverError(f"image {image_id} is {info.get('status')}, not active")
        base = self.path(image_id)
        part = base.with_name(f".{image_id}.part")
        started = time.monotonic()
        try:
            with open(part, "wb") as out:
                digests = _Digests(out, info.get("os_hash_algo"))
                self.source.download(image_id, digests)  # type: ignore[arg-type]
                out.flush()
                os.fsync(out.fileno())
            self._verify(image_id, info, digests)
            fmt, vsize = self._inspect(image_id, part, str(info.get("disk_format") or ""))
            os.replace(part, base)
        finally:
            part.unlink(missing_ok=True)
        meta = {
            "image_id": image_id,
            "format": fmt,
            "virtual_size": vsize,
            "checksum": info.get("checksum"),
            "os_hash_value": info.get("os_hash_value"),
            "fetched_at": time.time(),
        }
        tmp = base.with_name(f".{image_id}.json.part")
        tmp.write_text(json.dumps(meta) + "\n")
        os.replace(tmp, base.with_name(image_id + ".json"))
        LOG.info(
            "cached image %s (%s, %d bytes) in %.2fs",
            image_id,
            fmt,
            base.stat().st_size,
            time.monotonic() - started,
        )
        return CachedImage(image_id, base, fmt, vsize)

    @staticmethod
    def _verify(image_id: str, info: dict[str, Any], digests: _Digests) -> None:
        expected_hash = info.get("os_hash_value")
        if expected_hash and digests.other is not None:
            if digests.other.hexdigest() != expected_hash:
                raise DriverError(
                    f"image {image_id}: {info.get('os_hash_algo')} mismatch "
                    f"(got {digests.other.hexdigest()[:16]}…)"
                )
            return
        expected_md5 = info.get("checksum")
        if expected_md5:
            if digests.md5.hexdigest() != expected_md5:
                raise DriverError(f"image {image_id}: checksum mismatch")
            return
        LOG.warning("image %s has no checksum to verify its data against", image_id)

    @staticmethod
    def _inspect(image_id: str, part: Path, disk_format: str) -> tuple[str, int]:
        """The cached file's format and virtual size (converting if the format needs it)."""
        if disk_format in ("raw", "iso"):
            return "raw", part.stat().st_size
        info = qemu_img_info(part)
        detected = str(info.get("format", ""))
        if info.get("backing-filename") or info.get("full-backing-filename"):
            raise DriverError(f"image {image_id} has a backing file: refused")
        data_file = (info.get("format-specific") or {}).get("data", {}).get("data-file")
        if data_file:
            raise DriverError(f"image {image_id} has an external data file: refused")
        if disk_format and disk_format not in (detected, "ami") and detected != "raw":
            raise DriverError(
                f"image {image_id} claims to be {disk_format} but its data is {detected}"
            )
        if detected in DIRECT_FORMATS:
            return detected, int(info.get("virtual-size", part.stat().st_size))
        converted = part.with_name(part.name + ".qcow2")
        cmd = ["qemu-img", "convert", "-f", detected, "-O", "qcow2", str(part), str(converted)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
            if proc.returncode != 0:
                raise DriverError(f"cannot convert image {image_id}: {proc.stderr.strip()}")
            os.replace(converted, part)
        finally:
            converted.unlink(missing_ok=True)
        return "qcow2", int(qemu_img_info(part, "qcow2").get("virtual-size", 0))

    # -- cleanup -------------------------------------------------------------------------------
    def entries(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name[:-5] for p in self.root.glob("*.json") if not p.name.startswith("."))

    def cleanup(self, in_use: Iterable[str], max_age: float) -> list[str]:
        """Remove cached images not in ``in_use`` and unused for ``max_age`` seconds."""
        keep = set(in_use)
        removed = []
        now = time.time()
        for image_id in self.entries():
            if image_id in keep:
                continue
            meta = self.root / f"{image_id}.json"
            try:
                age = now - meta.stat().st_mtime
            except OSError:
                continue
            if age < max_age:
                continue
            with self._lock(image_id):
                (self.root / image_id).unlink(missing_ok=True)
                meta.unlink(missing_ok=True)
                (self.root / f".{image_id}.lock").unlink(missing_ok=True)
            removed.append(image_id)
            LOG.info("removed unused cached image %s", image_id)
        for part in self.root.glob(".*.part") if self.root.is_dir() else []:
            with contextlib.suppress(OSError):
                if now - part.stat().st_mtime > 3600:
                    part.unlink()
        return removed
