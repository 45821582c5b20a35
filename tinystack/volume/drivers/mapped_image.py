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

Writing works the same way for one kind of image: a qcow2 file whose metadata was
preallocated (``preallocation=metadata``: a volume created for a restore), with no
backing file and no internal snapshot. Every guest offset then has a fixed offset in
the file and the data area is holes, so ``PreallocatedImageFile`` writes a restore's
bytes straight into it (``pwrite``, ``O_DIRECT`` for aligned runs) and zeroes ranges by
punching holes; QEMU's metadata is never touched and reads the same bytes.
"""

from __future__ import annotations

import bisect
import ctypes
import ctypes.util
import errno
import io
import json
import mmap
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tinystack.common.direct_io import ALIGN, pwrite_all
from tinystack.volume.drivers import qemu_img
from tinystack.volume.drivers.errors import BackendError

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

_FALLOC_FL_KEEP_SIZE = 0x01
_FALLOC_FL_PUNCH_HOLE = 0x02
#: madvise(2): populate the page tables of a mapped range (Linux 5.14)
MADV_POPULATE_READ = 22
_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


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


def image_map(path: Path, zeros_as_holes: bool = True) -> list[Extent] | None:
    """The guest-visible disk as extents; None if a data range has no file offset.
    ``zeros_as_holes``: a range that reads as zeros is a hole (depth -1) even where the
    file holds it (reading); otherwise only unallocated ranges are (writing)."""
    entries = json.loads(qemu_img.run(["map", "-U", "--output=json", "-f", "qcow2", str(path)]))
    extents = []
    for entry in entries:
        start, length = int(entry["start"]), int(entry["length"])
        if not entry.get("data") or (zeros_as_holes and entry.get("zero")):
            extents.append(Extent(start, length, -1, 0))
        elif entry.get("compressed") or "offset" not in entry:
            return None
        else:
            extents.append(Extent(start, length, int(entry["depth"]), int(entry["offset"])))
    return extents


def _plain_qcow2(path: Path) -> bool:
    """No backing file, internal snapshot, encryption or external data file: every
    guest byte lives in this one file, where its map says."""
    info = json.loads(qemu_img.run(["info", "-U", "--output=json", "-f", "qcow2", str(path)]))
    specific = (info.get("format-specific") or {}).get("data") or {}
    return not (
        info.get("backing-filename")
        or info.get("snapshots")
        or info.get("encrypted")
        or specific.get("data-file")
    )


def never_written(path: Path) -> bool:
    """A plain qcow2 file in which no cluster is allocated: nothing ever wrote to it."""
    if not _plain_qcow2(path):
        return False
    extents = image_map(path, zeros_as_holes=False)
    return extents is not None and all(e.depth < 0 for e in extents)


class MappedImageFile(io.RawIOBase):
    """A read-only file of an image's guest-visible bytes, read by its map."""

    def __init__(self, files: list[Path], extents: list[Extent], size: int) -> None:
        super().__init__()
        self._fds: list[int] = []
        self._maps: dict[int, mmap.mmap] = {}
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

    def view(self, offset: int, length: int) -> memoryview | None:
        """The ``length`` guest bytes from ``offset`` without a copy (a read-only view of
        the file's pages, valid until the file is closed) when they lie in one data
        extent; None otherwise (the caller reads them)."""
        index = max(0, bisect.bisect_right(self._starts, offset) - 1)
        extent = self.extents[index] if index < len(self.extents) else None
        if extent is None or extent.depth < 0 or offset + length > extent.start + extent.length:
            return None
        start = extent.offset + offset - extent.start
        fd = self._fds[extent.depth]
        if extent.depth not in self._maps:
            size = os.fstat(fd).st_size
            if size == 0:
                return None
            self._maps[extent.depth] = mmap.mmap(fd, size, prot=mmap.PROT_READ)
        mapped = self._maps[extent.depth]
        if start + length > len(mapped):
            return None
        page = start - start % mmap.PAGESIZE
        try:  # map the range's cached pages now, in one call, not a fault per page
            mapped.madvise(MADV_POPULATE_READ, page, start + length - page)
        except OSError:  # kernels before 5.14: the pages fault in as they are read
            pass
        return memoryview(mapped)[start : start + length]

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
            for mapped in self._maps.values():
                try:
                    mapped.close()
                except BufferError:  # a view is still held: unmapped when collected
                    pass
            self._maps = {}
            for fd in self._fds:
                os.close(fd)
            self._fds = []


class PreallocatedImageFile(io.RawIOBase):
    """A writable file of a preallocated qcow2 image's guest-visible bytes (see the
    module docstring); ``write_zeroes`` punches holes, ``flush`` syncs the data."""

    def __init__(self, path: Path, extents: list[Extent], size: int) -> None:
        super().__init__()
        self._fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        self._direct: int | None = None
        try:
            self._direct = os.open(path, os.O_WRONLY | os.O_CLOEXEC | os.O_DIRECT)
        except OSError:  # a filesystem without O_DIRECT (tmpfs): the page cache
            pass
        self.extents = extents
        self._starts = [e.start for e in extents]
        self.size = size
        self._pos = 0

    @classmethod
    def open(cls, path: Path) -> PreallocatedImageFile | None:
        """The writable file of ``path``, or None unless it is such an image."""
        try:
            extents = image_map(path, zeros_as_holes=False) if _plain_qcow2(path) else None
        except (BackendError, ValueError, KeyError, TypeError):
            return None
        if not extents or any(e.depth != 0 for e in extents):
            return None
        return cls(path, extents, extents[-1].start + extents[-1].length)

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def _ranges(self, pos: int, length: int) -> list[tuple[int, int]]:
        """(file offset, length) pieces of ``length`` guest bytes from ``pos``; an error
        past the image's end (a volume never grows by writing)."""
        if pos + length > self.size:
            raise BackendError(f"a write of {length} bytes at {pos} passes the image's end")
        pieces = []
        index = max(0, bisect.bisect_right(self._starts, pos) - 1)
        end = pos + length
        while pos < end:
            extent = self.extents[index]
            n = min(end, extent.start + extent.length) - pos
            pieces.append((extent.offset + pos - extent.start, n))
            pos += n
            index += 1
        return pieces

    def write(self, buffer: ReadableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        self.write_at(self._pos, view)
        self._pos += len(view)
        return len(view)

    def write_at(self, offset: int, data: memoryview) -> None:
        """Write ``data`` at guest ``offset`` (threads may call this at once)."""
        view = data.cast("B") if data.format != "B" else data
        done = 0
        for file_offset, n in self._ranges(offset, len(view)):
            self._pwrite(view[done : done + n], file_offset)
            done += n

    def _pwrite(self, view: memoryview, offset: int) -> None:
        """Aligned runs with ``O_DIRECT`` straight from the caller's buffer when it is
        page-aligned (the page cache would cost a copy and a writeback), everything
        else through the cache."""
        if self._direct is not None and not (offset % ALIGN or len(view) % ALIGN):
            try:
                pwrite_all(self._direct, view, offset)
                return
            except OSError as exc:  # EINVAL: an unaligned buffer
                if exc.errno != errno.EINVAL:
                    raise
        pwrite_all(self._fd, view, offset)

    def write_zeroes(self, length: int) -> None:
        """Zero ``length`` bytes at the position by punching holes in the file."""
        self.zero_at(self._pos, length)
        self._pos += length

    def zero_at(self, offset: int, length: int) -> None:
        """Zero ``length`` guest bytes at ``offset`` (threads may call this at once)."""
        for file_offset, n in self._ranges(offset, length):
            res = _libc.fallocate(
                self._fd,
                _FALLOC_FL_PUNCH_HOLE | _FALLOC_FL_KEEP_SIZE,
                ctypes.c_long(file_offset),
                ctypes.c_long(n),
            )
            if res != 0:
                err = ctypes.get_errno()
                if err not in (errno.EOPNOTSUPP, errno.ENOSYS):
                    raise OSError(err, os.strerror(err))
                zero = bytes(min(n, 1 << 20))
                for start in range(0, n, len(zero)):
                    k = min(len(zero), n - start)
                    os.pwrite(self._fd, zero[:k], file_offset + start)

    def flush(self) -> None:
        if not self.closed:
            os.fdatasync(self._fd)

    def close(self) -> None:
        if self.closed:
            return
        try:
            super().close()  # flushes
        finally:
            for fd in (self._fd, self._direct):
                if fd is not None:
                    os.close(fd)
