"""Instance disks with qemu-img: root overlays, ephemeral and swap disks, snapshots."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

from tinystack.compute.virt.driver import DriverError
from tinystack.compute.virt.qemu.imagecache import qemu_img_info

LOG = logging.getLogger(__name__)
GiB = 1024**3
MiB = 1024**2


def _run(cmd: list[str], what: str, timeout: float = 600) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DriverError(f"{what} failed: {exc}") from exc
    if proc.returncode != 0:
        raise DriverError(f"{what} failed: {(proc.stderr or proc.stdout).strip()[-1000:]}")


def create_overlay(target: Path, base: Path, base_format: str, size_bytes: int = 0) -> None:
    """A qcow2 overlay on ``base``, grown to ``size_bytes`` when that is larger than the base."""
    part = target.with_name(target.name + ".part")
    cmd = ["qemu-img", "create", "-q", "-f", "qcow2", "-F", base_format, "-b", str(base)]
    cmd += [str(part)]
    if size_bytes:
        cmd.append(str(size_bytes))
    part.unlink(missing_ok=True)
    try:
        _run(cmd, "qemu-img create")
        part.rename(target)
    finally:
        part.unlink(missing_ok=True)


def create_overlay_blank(target: Path, size_bytes: int) -> None:
    """An empty qcow2 disk (the root disk of an instance booted from an ISO image)."""
    part = target.with_name(target.name + ".part")
    part.unlink(missing_ok=True)
    try:
        _run(["qemu-img", "create", "-q", "-f", "qcow2", str(part), str(size_bytes)], "qemu-img")
        part.rename(target)
    finally:
        part.unlink(missing_ok=True)


def virtual_size(path: Path) -> int:
    return int(qemu_img_info(path, "qcow2").get("virtual-size", 0))


def grow(path: Path, size_bytes: int, fmt: str = "qcow2") -> bool:
    """Grow a qcow2 (or raw) disk to ``size_bytes`` (never shrinks); True if it grew."""
    if size_bytes <= int(qemu_img_info(path, fmt).get("virtual-size", 0)):
        return False
    _run(["qemu-img", "resize", "-q", "-f", fmt, str(path), str(size_bytes)], "qemu-img resize")
    return True


def create_ephemeral(target: Path, size_gb: int, label: str = "ephemeral0") -> None:
    """A sparse raw disk with an ext4 filesystem (unformatted when mkfs.ext4 is missing)."""
    part = target.with_name(target.name + ".part")
    with open(part, "wb") as f:
        f.truncate(size_gb * GiB)
    mkfs = shutil.which("mkfs.ext4")
    if mkfs:
        cmd = [mkfs, "-q", "-F", "-L", label, "-m", "0"]
        cmd += ["-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard", str(part)]
        _run(cmd, "mkfs.ext4")
    part.rename(target)


def create_swap(target: Path, size_mb: int) -> None:
    part = target.with_name(target.name + ".part")
    with open(part, "wb") as f:
        f.truncate(size_mb * MiB)
    mkswap = shutil.which("mkswap")
    if mkswap:
        _run([mkswap, "-L", "swap0", str(part)], "mkswap")
    part.rename(target)


def flatten(source: Path, target: Path) -> None:
    """A standalone qcow2 copy of ``source`` and its backing chain.

    ``-U``: the source may be open in a paused QEMU (which has flushed it).
    """
    cmd = ["qemu-img", "convert", "-U", "-f", "qcow2", "-O", "qcow2", str(source), str(target)]
    _run(cmd, "qemu-img convert")


def copy(source: Path, target: Path) -> None:
    """Copy a disk file, keeping it sparse."""
    _run(["cp", "--sparse=always", "--reflink=auto", str(source), str(target)], "cp")


def backing_file(path: Path) -> str | None:
    """The backing file a qcow2 image names in its header (None: none, or not qcow2);
    read from the header itself, so a scan of many disks costs no qemu-img runs."""
    try:
        with open(path, "rb") as f:
            header = f.read(20)
            if len(header) < 20 or header[:4] != b"QFI\xfb":
                return None
            offset = int.from_bytes(header[8:16], "big")
            size = int.from_bytes(header[16:20], "big")
            if not offset or not 0 < size <= 1023:
                return None
            f.seek(offset)
            return f.read(size).decode(errors="replace")
    except OSError:
        return None


def cached_backing(disks_root: Path, cache: Path) -> set[str]:
    """The ids of the images in ``cache`` that the disks of the instance directories in
    ``disks_root`` are backed by."""
    found: set[str] = set()
    for path in disks_root.glob("*/disk.*"):
        backing = backing_file(path)
        if backing and Path(backing).parent == cache:
            found.add(Path(backing).name)
    return found
