"""Read a qcow2 volume's guest-visible bytes straight from its files, by its map.

A backup reads every byte of a volume once. Through an NBD export each byte passes the
``qemu-storage-daemon`` and a socket, and on a busy host that process is what limits a
backup. ``qemu-img map`` says, for every range of the guest-visible disk, whether it is
zeros or where in which file of the backing chain its bytes lie; reading those ranges
with ``preadv`` gives the same bytes at the speed of the disk, and unallocated ranges are
not read at all.

Only images whose every data range has a plain file offset qualify: qcow2 or raw files,
no encryption, no external data file, no compressed clusters (``qemu-img map`` gives
those no offset). Anything else is read through the export as before. The caller keeps
the image open read-only in its ``qemu-storage-daemon`` (which takes QEMU's image lock,
so no writer can open it) for as long as the map is used.
"""

from __future__ import annotations

import bisect
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tinystack.volume.drivers import qemu_img
from tinystack.volume.drivers.errors import BackendError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


@dataclass(frozen=True, slots=True)
class Extent:
    """``length`` guest bytes from ``start``: zeros (``depth`` -1), or the bytes of the
    chain's file ``depth`` from ``offset``."""

    start: int
    length: int
    depth: int
    offset: int


def chain_files(path: Path) -> list[Path] | None:
    """The backing chain's files, top first; None if one cannot be read directly."""
    chain = json.loads(
        qemu_img.run(["info", "-U", "--backing-chain", "--output=json", "-f", "qcow2", str(path)])
    )
    files = [path]
    for depth, image in enumerate(chain):
        specific = (image.get("format-specific") or {}).get("data") or {}
        if image.get("format") not in qemu_img.FORMATS or image.get("encrypted"):
            return None
        if specific.get("data-file"):
            return None
        if depth + 1 < len(chain):
            backing = image.get("full-backing-filename")
            if not backing:
                return None
            files.append(Path(backing))
    return files


def image_map(path: Path) -> list[Extent] | None:
    """The guest-visible disk as extents; None if a data range has no file offset."""
    entries = json.loads(qemu_img.run(["map", "-U", "--output=json", "-f", "qcow2", str(path)]))
    extents = []
    for entry in entries:
        start, length = int(entry["start"]), int(entry["length"])
        if not entry.get("data"):
            extents.append(Extent(start, length, -1, 0))
        elif entry.get("compressed") or "offset" not in entry:
            return None
        else:
            extents.append(Extent(start, length, int(entry["depth"]), int(entry["offset"])))
    return extents


class MappedImageFile(io.RawIOBase):
    """A read-only file of an image's guest-visible bytes, read by its map."""

    def __init__(self, files: list[Path], extents: list[Extent], size: int) -> None:
        super().__init__()
        self._fds: list[int] = []
        try:
            for file in files:
                self._fds.append(os.open(file, os.O_RDONLY | os.O_CLOEXEC))
        except OSError:
            self.close()
            raise
        self.extents = extents
        self._starts = [e.start for e in extents]
        self.size = size
        self._pos = 0

    @classmethod
    def open(cls, path: Path) -> MappedImageFile | None:
        """The mapped file of ``path``, or None when it cannot be read this way."""
        try:
            files = chain_files(path)
            extents = image_map(path) if files is not None else None
        except (BackendError, ValueError, KeyError, TypeError):
            return None
        if files is None or extents is None or any(e.depth >= len(files) for e in extents):
            return None
        size = extents[-1].start + extents[-1].length if extents else 0
        return cls(files, extents, size)

    def is_zero_range(self, offset: int, length: int) -> bool:
        """Whether the map says ``length`` bytes from ``offset`` are all zeros (a
        backup then neither reads nor hashes them)."""
        index = max(0, bisect.bisect_right(self._starts, offset) - 1)
        end = offset + length
        for extent in self.extents[index:]:
            if extent.start >= end:
                return True
            if extent.depth >= 0:
                return False
        return True

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        total = max(0, min(len(view), self.size - self._pos))
        done = 0
        index = max(0, bisect.bisect_right(self._starts, self._pos) - 1)
        while done < total:
            pos = self._pos + done
            extent = self.extents[index] if index < len(self.extents) else None
            if extent is None or not extent.start <= pos < extent.start + extent.length:
                raise BackendError(f"the image map does not cover offset {pos}")
            n = min(total - done, extent.start + extent.length - pos)
            part = view[done : done + n]
            if extent.depth < 0:
                part[:] = bytes(n)
            else:
                self._pread(self._fds[extent.depth], part, extent.offset + pos - extent.start)
            done += n
            index += 1
        self._pos += total
        return total

    @staticmethod
    def _pread(fd: int, view: memoryview, offset: int) -> None:
        got = 0
        while got < len(view):
            more = os.preadv(fd, [view[got:]], offset + got)
            if more <= 0:
                raise BackendError(f"an image file ended at offset {offset + got}")
            got += more

    def close(self) -> None:
        if self.closed:
            return
        try:
            super().close()
        finally:
            for fd in self._fds:
                os.close(fd)
            self._fds = []
