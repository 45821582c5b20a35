"""A volume's raw bytes as a file for backups and restores (``open_volume``).

A raw volume is its file: it is opened directly. A qcow2 volume's guest-visible bytes
exist only through QEMU's block layer, so it is exported by a private
``qemu-storage-daemon`` on a unix socket (its own process, started for this one use and
stopped after it) and read or written with the userspace NBD client. Converting to a
temporary raw file instead would write the whole volume once more.

A qcow2 volume opened for reading alone (a backup) is read from its files by its map
when it can be (``drivers/mapped_image.py``): the daemon then only holds QEMU's image
lock, so nothing writes the files meanwhile. An attached volume (``shared``) is always
read through the export: its guest may be changing the map.

A qcow2 volume created for a restore has its metadata preallocated
(``create_volume_for_restore``): it is written by its map the same way
(``PreallocatedImageFile``), the daemon holding it read-only meanwhile; every other qcow2
volume is written through the export.

A raw volume's holes are found with ``SEEK_DATA`` (``is_zero_range``), as a qcow2
volume's are by its map: a backup skips them.

Both writable files offer ``write_zeroes(length)``: a restore zeroes the ranges a backup stored
no data for with it, which punches holes instead of writing zeros, so a restored volume
stays as sparse as the original.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import io
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

from tinystack.common.nbd import NBDConnection, NBDFile
from tinystack.volume.drivers.errors import BackendError
from tinystack.volume.drivers.mapped_image import MappedImageFile, PreallocatedImageFile
from tinystack.volume.drivers.storage_daemon import StorageDaemon

_FALLOC_FL_KEEP_SIZE = 0x01
_FALLOC_FL_PUNCH_HOLE = 0x02
_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


class RawVolumeFile(io.FileIO):
    """A raw volume file that can punch holes and knows where its holes are."""

    def is_zero_range(self, offset: int, length: int) -> bool:
        """Whether ``length`` bytes from ``offset`` are a hole (``SEEK_DATA`` finds no
        data before their end): a backup then neither reads nor hashes them. False
        where the filesystem cannot tell (the bytes are read and compared instead)."""
        try:
            return os.lseek(self.fileno(), offset, os.SEEK_DATA) >= offset + length
        except OSError as exc:  # ENXIO: no data after offset
            return exc.errno == errno.ENXIO

    def write_zeroes(self, length: int) -> None:
        """Zero ``length`` bytes at the position by punching a hole, and move past it."""
        pos = self.tell()
        end = min(pos + length, os.fstat(self.fileno()).st_size)
        if end > pos:
            res = _libc.fallocate(
                self.fileno(),
                _FALLOC_FL_PUNCH_HOLE | _FALLOC_FL_KEEP_SIZE,
                ctypes.c_long(pos),
                ctypes.c_long(end - pos),
            )
            if res != 0:  # a filesystem without hole punching: write the zeros
                zero = bytes(1 << 20)
                self.seek(pos)
                for start in range(pos, end, len(zero)):
                    self.write(zero[: min(len(zero), end - start)])
        self.seek(pos + length)


@contextlib.contextmanager
def open_raw(path: Path, write: bool) -> Iterator[BinaryIO]:
    with RawVolumeFile(path, "r+" if write else "r") as f:
        yield cast(BinaryIO, f)


#: how the daemon opens a qcow2 file it writes: O_DIRECT with Linux AIO first (see
#: ``_add_node``), then through the page cache (a filesystem without O_DIRECT: tmpfs)
WRITE_MODES: tuple[dict[str, Any], ...] = (
    {"aio": "native", "cache": {"direct": True}},
    {"aio": "threads"},
)


def _add_node(daemon: StorageDaemon, path: Path, write: bool, shared: bool) -> None:
    """Open the qcow2 file in the daemon as node ``vol``.

    Writes bypass the page cache (``cache.direct``): through the page cache, QEMU's
    qcow2 driver copies every byte once more and its metadata flushes while clusters are
    allocated (refcount before L2) each write back whatever is dirty so far; direct
    writes cost the daemon a third of the CPU time, restores measured about twice as
    fast, and the data is on the disk when the final flush returns (which is then
    cheap). Reads stay cached: a backup reads what was just written."""
    modes: tuple[dict[str, Any], ...] = WRITE_MODES if write else ({"aio": "threads"},)
    for i, mode in enumerate(modes):
        node: dict[str, object] = {
            "driver": "qcow2",
            "node-name": "vol",
            "file": {"driver": "file", "filename": str(path), **mode},
            "discard": "unmap",
        }
        if not write:
            node |= {"read-only": True, "force-share": shared}
        try:
            daemon.command("blockdev-add", node)
            return
        except BackendError:
            if i == len(modes) - 1:
                raise


@contextlib.contextmanager
def open_qcow2(path: Path, run_dir: Path, write: bool, shared: bool) -> Iterator[BinaryIO]:
    """The guest-visible bytes of a qcow2 file through a private NBD export (or, for
    reading alone, by its map while the daemon holds the image).

    ``shared``: another QEMU holds the file (an attached volume); it is then opened
    read-only without taking QEMU's image lock (what ``qemu-img -U`` does)."""
    state = run_dir / f"open-{uuid.uuid4().hex[:12]}"
    sock = state / "nbd.sock"
    daemon = StorageDaemon(state, sock)
    try:
        daemon.start()
        # a preallocated image (a restore's new volume) is written by its map while the
        # daemon holds it read-only, which keeps any other writer out
        _add_node(daemon, path, write and shared, shared)
        mapped: io.RawIOBase | None = None
        if not shared:
            mapped = PreallocatedImageFile.open(path) if write else MappedImageFile.open(path)
        if mapped is not None:
            with mapped:
                yield cast(BinaryIO, mapped)
            return
        if write:  # through the daemon after all: reopen the image writable
            daemon.command("blockdev-del", {"node-name": "vol"})
            _add_node(daemon, path, True, shared)
        daemon.command(
            "block-export-add",
            {"type": "nbd", "id": "vol", "node-name": "vol", "name": "vol", "writable": write},
        )
        f = NBDFile(NBDConnection(sock, "vol"), writable=write)
        try:
            yield cast(BinaryIO, f)
        finally:
            f.close()
    finally:
        daemon.stop()
        shutil.rmtree(state, ignore_errors=True)
