"""A small userspace NBD client: an NBD export's raw bytes as a file.

This machine has no kernel NBD, and qcow2 volumes' guest-visible bytes exist only
through QEMU's block layer, so raw bytes of a volume are read and written over NBD from
userspace. The client speaks the protocol (fixed newstyle handshake, ``NBD_OPT_GO``,
simple replies) with several requests in flight, which keeps the server's reads
overlapped with ours.

Two services use it, which is why it lives in ``common``: the volume service's backups
and restores (a private ``qemu-storage-daemon`` on a unix socket), and the image
service's ``cinder`` store, which reads and writes image data through the ``nbd``
connection of a volume attachment (services never import each other).
"""

from __future__ import annotations

import io
import socket
import struct
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

NBDMAGIC = b"NBDMAGIC"
IHAVEOPT = b"IHAVEOPT"
OPT_REPLY_MAGIC = 0x3E889045565A9
REQUEST_MAGIC = 0x25609513
SIMPLE_REPLY_MAGIC = 0x67446698
FLAG_FIXED_NEWSTYLE = 1
FLAG_NO_ZEROES = 2
OPT_GO = 7
REP_ACK = 1
REP_INFO = 3
INFO_EXPORT = 0
CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH, CMD_WRITE_ZEROES = 0, 1, 2, 3, 6
FLAG_READ_ONLY = 1 << 1
#: QEMU's server refuses requests over 32 MiB. Writes into qcow2 through the page cache
#: were fastest with 16 x 2 MiB in flight; with the restore's daemon writing O_DIRECT
#: (``volume_io.py``) 8 x 8 MiB was 5-20 % faster than that and than 3 x 32 MiB
#: (3 interleaved runs each), and reads are as fast
REQUEST_SIZE = 8 << 20
IN_FLIGHT = 8
SEND_BUFFER = 8 << 20


class NBDError(OSError):
    """The NBD server refused a request or the connection broke."""


class NBDConnection:
    """One connection to one export."""

    def __init__(self, address: Path | tuple[str, int], export: str, timeout: float = 60) -> None:
        family = socket.AF_UNIX if isinstance(address, Path) else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(str(address) if isinstance(address, Path) else address)
            self.size, self.flags = self._handshake(export)
        except OSError as exc:
            self.sock.close()
            raise NBDError(f"cannot open NBD export {export!r} at {address}: {exc}") from exc
        self._cookie = 0
        #: writes sent whose replies are not read yet (``pwrite`` does not wait for them)
        self._unacked = 0
        _grow_send_buffer(self.sock)

    @property
    def read_only(self) -> bool:
        return bool(self.flags & FLAG_READ_ONLY)

    def _recv_exact(self, n: int) -> bytes:
        buf = bytearray(n)
        self._recv_into(memoryview(buf))
        return bytes(buf)

    def _recv_into(self, view: memoryview) -> None:
        while view:
            got = self.sock.recv_into(view)
            if got == 0:
                raise NBDError("NBD server closed the connection")
            view = view[got:]

    def _handshake(self, export: str) -> tuple[int, int]:
        head = self._recv_exact(18)
        if head[:8] != NBDMAGIC or head[8:16] != IHAVEOPT:
            raise NBDError("not a newstyle NBD server")
        self.sock.sendall(struct.pack(">I", FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES))
        name = export.encode()
        payload = struct.pack(">I", len(name)) + name + struct.pack(">HH", 1, INFO_EXPORT)
        self.sock.sendall(IHAVEOPT + struct.pack(">II", OPT_GO, len(payload)) + payload)
        size = flags = -1
        while True:
            magic, _opt, rtype, length = struct.unpack(">QIII", self._recv_exact(20))
            if magic != OPT_REPLY_MAGIC:
                raise NBDError("bad NBD option reply")
            data = self._recv_exact(length)
            if rtype & 0x80000000:
                raise NBDError(f"NBD export {export!r} refused: {data.decode(errors='replace')}")
            if rtype == REP_INFO and struct.unpack(">H", data[:2])[0] == INFO_EXPORT:
                size, flags = struct.unpack(">QH", data[2:12])
            elif rtype == REP_ACK:
                break
        if size < 0:
            raise NBDError("NBD server sent no export size")
        return size, flags

    def _send(self, cmd: int, offset: int, length: int, data: ReadableBuffer | None = None) -> int:
        self._cookie += 1
        header = struct.pack(">IHHQQI", REQUEST_MAGIC, 0, cmd, self._cookie, offset, length)
        if data is None:
            self.sock.sendall(header)
        else:
            self.sock.sendall(header)
            self.sock.sendall(data)
        return self._cookie

    def _reply(self, reads: dict[int, memoryview]) -> int:
        """Receive one simple reply (a read's data into its buffer, which is removed
        from ``reads``); the number of bytes it carried."""
        magic, error, cookie = struct.unpack(">IIQ", self._recv_exact(16))
        if magic != SIMPLE_REPLY_MAGIC:
            raise NBDError("bad NBD reply magic")
        view = reads.pop(cookie, None)
        if error:
            raise NBDError(f"NBD request failed with error {error}")
        if view is None:
            return 0
        self._recv_into(view)
        return len(view)

    def _settle(self, limit: int = 0) -> None:
        """Read write replies until at most ``limit`` writes are unacknowledged; a
        failed write raises here (at the latest from ``flush``)."""
        while self._unacked > limit:
            self._reply({})
            self._unacked -= 1

    def pread_into(self, view: memoryview, offset: int) -> int:
        """Fill ``view`` from ``offset`` (clipped at the export's end); bytes read.
        Up to IN_FLIGHT requests are outstanding; replies may come in any order."""
        self._settle()
        total = max(0, min(len(view), self.size - offset))
        pending: dict[int, memoryview] = {}
        done = sent = 0
        while done < total:
            while sent < total and len(pending) < IN_FLIGHT:
                length = min(REQUEST_SIZE, total - sent)
                pending[self._send(CMD_READ, offset + sent, length)] = view[sent : sent + length]
                sent += length
            done += self._reply(pending)
        return total

    def pwrite(self, data: ReadableBuffer, offset: int) -> None:
        """Send ``data`` as write requests. It returns once the data is in the socket
        (the buffer may be reused) without waiting for the last replies, so consecutive
        writes keep the server busy; ``flush`` (and any other request) collects them."""
        view = memoryview(data).cast("B")
        if offset + len(view) > self.size:
            raise NBDError("write past the end of the NBD export")
        for start in range(0, len(view), REQUEST_SIZE):
            self._settle(IN_FLIGHT - 1)
            part = view[start : start + REQUEST_SIZE]
            self._send(CMD_WRITE, offset + start, len(part), part)
            self._unacked += 1

    def write_zeroes(self, offset: int, length: int) -> None:
        """Zero a range; the server may punch holes (the volume stays sparse)."""
        self._settle()
        for start in range(offset, offset + length, 1 << 30):
            self._send(CMD_WRITE_ZEROES, start, min(1 << 30, offset + length - start))
            self._reply({})

    def flush(self) -> None:
        self._settle()
        self._send(CMD_FLUSH, 0, 0)
        self._reply({})

    def close(self) -> None:
        try:
            self._settle()  # a disconnect may drop writes not yet done
            self._send(CMD_DISC, 0, 0)
        except (OSError, NBDError):
            pass
        self.sock.close()


def _grow_send_buffer(sock: socket.socket) -> None:
    """A larger socket send buffer: a 4 MiB request then passes in a few copies rather
    than ~20 wake-ups of both sides (costly on a busy host). As root the system limit
    (``net.core.wmem_max``) does not apply; otherwise that limit is what we get."""
    for option in (getattr(socket, "SO_SNDBUFFORCE", None), socket.SO_SNDBUF):
        if option is None:
            continue
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, SEND_BUFFER)
            return
        except OSError:
            continue


class NBDFile(io.RawIOBase):
    """An NBD export as a seekable raw file (``open_volume`` hands it out buffered)."""

    def __init__(self, conn: NBDConnection, writable: bool) -> None:
        super().__init__()
        self.conn = conn
        self._writable = writable
        self._pos = 0

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return self._writable

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.conn.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        n = self.conn.pread_into(view, self._pos)
        self._pos += n
        return n

    def write(self, data: ReadableBuffer) -> int:
        if not self._writable:
            raise io.UnsupportedOperation("the volume was opened read-only")
        view = memoryview(data).cast("B")
        self.conn.pwrite(view, self._pos)
        self._pos += len(view)
        return len(view)

    def write_zeroes(self, length: int) -> None:
        """Zero ``length`` bytes at the position and move past them (sparse)."""
        self.conn.write_zeroes(self._pos, length)
        self._pos += length

    def flush(self) -> None:
        if self._writable and not self.closed:
            self.conn.flush()

    def close(self) -> None:
        if self.closed:
            return
        try:
            super().close()  # flushes
        finally:
            self.conn.close()
