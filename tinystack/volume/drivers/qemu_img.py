"""``qemu-img`` as the file driver uses it: create, convert, resize, info.

Every call runs the real tool with a fixed argument list (no shell). Formats are always
given explicitly (``-f``/``-F``/``-O``): probing a file's format from its contents would
let a guest that writes a qcow2 header into a raw volume make the host open any file as
its backing file. ``backing_file`` reads the qcow2 header directly because the image
cache asks it for every volume on each eviction pass, and spawning qemu-img per file
would make that pass slow.
"""

from __future__ import annotations

import json
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tinystack.volume.drivers.errors import BackendError

GiB = 1 << 30
FORMATS = ("qcow2", "raw")
QCOW2_MAGIC = b"QFI\xfb"


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What ``qemu-img info`` says of one file."""

    format: str
    virtual_size: int
    actual_size: int
    backing_file: str | None
    backing_format: str | None
    data_file: str | None


def run(args: list[str], timeout: float | None = 3600) -> str:
    """Run ``qemu-img`` with ``args``; its stdout, or a BackendError with its stderr."""
    try:
        proc = subprocess.run(
            ["qemu-img", *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackendError(f"qemu-img {args[0]} failed: {exc}") from exc
    if proc.returncode != 0:
        message = (proc.stderr or proc.stdout).decode(errors="replace").strip()
        raise BackendError(f"qemu-img {args[0]} failed: {message[-2000:]}")
    return proc.stdout.decode(errors="replace")


def info(path: Path, fmt: str | None = None, force_share: bool = False) -> ImageInfo:
    """``qemu-img info`` of ``path``; ``fmt`` None probes (only for files of unknown
    origin that the caller then checks, e.g. ``manage_existing``)."""
    args = ["info", "--output=json"]
    if fmt is not None:
        args += ["-f", fmt]
    if force_share:
        args.append("-U")
    data = json.loads(run([*args, str(path)], timeout=60))
    return ImageInfo(
        format=str(data["format"]),
        virtual_size=int(data["virtual-size"]),
        actual_size=int(data.get("actual-size", 0)),
        backing_file=data.get("full-backing-filename") or data.get("backing-filename"),
        backing_format=data.get("backing-filename-format"),
        data_file=(data.get("format-specific", {}).get("data", {}) or {}).get("data-file"),
    )


def create(
    path: Path,
    fmt: str,
    size: int,
    backing: Path | None = None,
    backing_fmt: str | None = None,
    preallocate_metadata: bool = False,
) -> None:
    """A new sparse image of ``size`` bytes (nothing zeroed). ``preallocate_metadata``
    (qcow2): every cluster is allocated in the file up front (the data area stays
    holes), so each guest offset has a fixed file offset (``mapped_image``)."""
    args = ["create", "-q", "-f", fmt]
    if fmt == "qcow2":
        args += ["-o", f"preallocation={'metadata' if preallocate_metadata else 'off'}"]
    if backing is not None:
        args += ["-b", str(backing), "-F", backing_fmt or "raw"]
    run([*args, str(path), str(size)], timeout=120)


def convert(
    src: Path,
    src_fmt: str,
    dest: Path,
    dest_fmt: str,
    *,
    backing: Path | None = None,
    backing_fmt: str | None = None,
    force_share: bool = False,
) -> None:
    """Copy ``src`` into a new ``dest``; zero areas stay holes (``-S`` default).

    With ``backing`` the destination is an overlay on it and only what ``src`` holds
    above that same backing file is copied (a clone of an image-based volume copies
    its own clusters, not the image)."""
    # -t writeback: the copy is flushed before the caller renames it into place
    args = ["convert", "-q", "-t", "writeback", "-f", src_fmt, "-O", dest_fmt, "-W", "-m", "8"]
    if force_share:
        args.append("-U")
    if dest_fmt == "qcow2":
        args += ["-o", "preallocation=off"]
    if backing is not None:
        args += ["-B", str(backing), "-F", backing_fmt or "raw"]
    run([*args, str(src), str(dest)])


def resize(path: Path, fmt: str, size: int) -> None:
    """Grow ``path`` to ``size`` bytes (never shrinks)."""
    run(["resize", "-q", "-f", fmt, str(path), str(size)], timeout=120)


def backing_file(path: Path) -> str | None:
    """The backing file named in a qcow2 header, None for raw or no backing file."""
    try:
        with open(path, "rb") as f:
            header = f.read(20)
            if len(header) < 20 or header[:4] != QCOW2_MAGIC:
                return None
            offset, length = struct.unpack(">QI", header[8:20])
            if offset == 0 or length == 0 or length > 4096:
                return None
            f.seek(offset)
            return f.read(length).decode(errors="replace")
    except OSError:
        return None


def gib(size_bytes: int) -> int:
    """Bytes rounded up to whole GiB (how volumes are sized)."""
    return max(1, -(-size_bytes // GiB))
