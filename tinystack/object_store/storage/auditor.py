"""The object auditor: re-reads every object on this node's devices and checks its bytes
against the size and md5 its metadata recorded; a corrupt object is moved out of its
partition into ``<device>/quarantined/objects/`` and its suffix invalidated, so the
replicator restores a good copy from another replica."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import uuid
from pathlib import Path

from tinystack.object_store.storage import diskfile
from tinystack.object_store.storage.daemon import run_every

LOG = logging.getLogger(__name__)


def check(data: Path) -> bool:
    """Whether a .data file matches its recorded size and md5."""
    try:
        meta = diskfile.read_meta(data)
        md5 = hashlib.md5(usedforsecurity=False)
        size = 0
        with open(data, "rb") as f:
            while chunk := f.read(diskfile.CHUNK):
                md5.update(chunk)
                size += len(chunk)
    except (OSError, ValueError):
        return False
    return str(size) == meta.get("Content-Length") and md5.hexdigest() == meta.get("ETag")


def quarantine(dev: Path, hash_dir: Path) -> None:
    target = dev / "quarantined" / "objects" / f"{hash_dir.name}-{uuid.uuid4().hex[:8]}"
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(hash_dir, target)
    part = int(hash_dir.parents[1].name)
    diskfile.invalidate_suffix(dev, part, hash_dir.parent.name)
    LOG.warning("object %s on %s failed its audit: quarantined", hash_dir.name, dev.name)


#: bytes read per second at most (Swift's auditor is rate-limited the same way)
BYTES_PER_SECOND = 10 * 1024 * 1024


def audit_device(dev: Path, stopping: threading.Event | None = None) -> int:
    """Check every object of a device; returns how many were quarantined."""
    bad = 0
    for data in sorted((dev / "objects").glob("*/*/*/*.data")):
        if stopping is not None:
            size = data.stat().st_size if data.exists() else 0
            if stopping.wait(size / BYTES_PER_SECOND):
                return bad
        if data.exists() and not check(data):
            if data.exists():  # not replaced or removed while it was read
                quarantine(dev, data.parent)
                bad += 1
    return bad


class Auditor:
    def __init__(self, devices: Path, interval: float = 300.0) -> None:
        self.devices = devices
        self.interval = interval
        self.stopping = threading.Event()

    def sweep(self) -> int:
        bad = 0
        try:
            devs = sorted(d for d in self.devices.iterdir() if (d / "objects").is_dir())
        except FileNotFoundError:
            return 0
        for dev in devs:
            bad += audit_device(dev, self.stopping)
        return bad

    def start(self) -> None:
        run_every(
            self.interval, self.stopping, self.sweep, "object-store-auditor",
            "object audit pass failed",
        )  # fmt: skip

    def stop(self) -> None:
        self.stopping.set()
