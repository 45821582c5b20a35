"""Files written past the page cache (``O_DIRECT``).

Writing a large file through the page cache costs a copy into freshly allocated cache
pages and their writeback later: 2–3 s of CPU per GiB on this project's hosts, against
~0.1 s written ``O_DIRECT`` (docs/benchmarks.md, backup and object store). A store that
writes large files once and syncs them (volume backups, object replicas) writes them
direct; small files, and filesystems that refuse ``O_DIRECT`` (tmpfs), keep the cache.

``O_DIRECT`` needs buffers, file offsets and lengths aligned to the logical block size:
:data:`ALIGN` covers the filesystems used here. A file's unaligned tail is written after
the flag is cleared again.
"""

from __future__ import annotations

import fcntl
import mmap
import os

#: the alignment O_DIRECT asks of buffers, offsets and lengths
ALIGN = 4096


def set_direct(fd: int, on: bool = True) -> bool:
    """Set (or clear) ``O_DIRECT`` on ``fd``; False when the filesystem refuses it."""
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_DIRECT if on else flags & ~os.O_DIRECT)
    except OSError:
        return False
    return True


def pwrite_all(fd: int, view: memoryview, offset: int) -> None:
    """Write all of ``view`` at ``offset`` (a write may take less than it was given)."""
    while view:
        done = os.pwrite(fd, view, offset)
        view, offset = view[done:], offset + done


class SequentialWriter:
    """A new file written front to back. The first ``threshold`` bytes are held in
    memory: a file that ends within them is written through the page cache; one that
    grows past them is written ``O_DIRECT`` from a page-aligned buffer of ``buffer_size``
    bytes (the unaligned tail through the cache at :meth:`finish`). The caller owns
    ``fd`` (and syncs and closes it)."""

    def __init__(self, fd: int, threshold: int = 1 << 20, buffer_size: int = 4 << 20) -> None:
        if buffer_size % ALIGN or buffer_size < threshold:
            raise ValueError("buffer_size must be aligned and at least the threshold")
        self.fd = fd
        self.threshold = threshold
        self.buffer_size = buffer_size
        self._held: list[bytes] = []
        self._held_size = 0
        self._buf: mmap.mmap | None = None  # set once writing direct
        self._fill = 0  # bytes in _buf not yet written
        self._offset = 0  # bytes of the file written (direct: always aligned)
        self._cached = False  # past the threshold but O_DIRECT refused: plain writes

    def write(self, data: bytes) -> None:
        if self._buf is not None:
            self._stage(memoryview(data))
        elif self._cached:
            self._write_cached(memoryview(data))
        else:
            self._held.append(data)
            self._held_size += len(data)
            if self._held_size > self.threshold:
                self._leave_memory()

    def finish(self) -> None:
        """Write what is still held or staged; the file then has every byte."""
        if self._buf is not None:
            with memoryview(self._buf) as staged:
                aligned = self._fill - self._fill % ALIGN
                pwrite_all(self.fd, staged[:aligned], self._offset)
                set_direct(self.fd, False)
                pwrite_all(self.fd, staged[aligned : self._fill], self._offset + aligned)
            self._offset += self._fill
            self._fill = 0
            self._buf.close()
            self._buf = None
        else:
            for data in self._held:
                self._write_cached(memoryview(data))
            self._held.clear()

    def _leave_memory(self) -> None:
        held, self._held, self._held_size = self._held, [], 0
        if set_direct(self.fd):
            self._buf = mmap.mmap(-1, self.buffer_size)
            for data in held:
                self._stage(memoryview(data))
        else:
            self._cached = True
            for data in held:
                self._write_cached(memoryview(data))

    def _stage(self, view: memoryview) -> None:
        buf = self._buf
        assert buf is not None
        with memoryview(buf) as staged:
            while view:
                take = min(len(view), self.buffer_size - self._fill)
                staged[self._fill : self._fill + take] = view[:take]
                self._fill += take
                view = view[take:]
                if self._fill == self.buffer_size:
                    pwrite_all(self.fd, staged, self._offset)
                    self._offset += self._fill
                    self._fill = 0

    def _write_cached(self, view: memoryview) -> None:
        pwrite_all(self.fd, view, self._offset)
        self._offset += len(view)
