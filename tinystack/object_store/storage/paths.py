"""Where an item lives on a device: ``<device>/<kind>/<part>/<suffix>/<hash>``, the
suffix being the hash's last three hex digits (Swift's layout)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tinystack.object_store.exception import InsufficientStorage


def normalize(timestamp: str | float) -> str:
    """Swift's timestamp form: seconds with five decimals, zero-padded to 16 digits."""
    return f"{float(timestamp):016.05f}"


def now() -> str:
    return normalize(time.time())


def device_path(devices: Path, device: str) -> Path:
    """The device's directory; 507 when it is not there (an unmounted or failed disk)."""
    if not device or "/" in device or device.startswith("."):
        raise InsufficientStorage()
    path = devices / device
    if not path.is_dir():
        raise InsufficientStorage()
    return path


def item_dir(dev: Path, kind: str, part: int, name_hash: str) -> Path:
    return dev / kind / str(part) / name_hash[-3:] / name_hash


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
