"""An in-memory file tree written as a "newc" cpio archive (the initramfs format).

Building the archive in Python rather than with ``cpio``/``find`` lets an
unprivileged user put device nodes (``/dev/console``) and root-owned files in
it, and makes it reproducible: fixed owners, fixed timestamps, sorted names.
"""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Literal

Kind = Literal["dir", "file", "symlink", "chardev"]
MODE_BITS = {"dir": stat.S_IFDIR, "file": stat.S_IFREG, "symlink": stat.S_IFLNK}
MODE_BITS["chardev"] = stat.S_IFCHR


@dataclass(frozen=True)
class Entry:
    path: str
    kind: Kind
    mode: int
    #: file content (read from ``source`` when None), symlink target
    data: bytes | None = None
    source: Path | None = None
    target: str = ""
    rdev: tuple[int, int] = (0, 0)
    uid: int = 0
    gid: int = 0

    def content(self) -> bytes:
        if self.kind == "file":
            if self.data is not None:
                return self.data
            assert self.source is not None
            return self.source.read_bytes()
        if self.kind == "symlink":
            return self.target.encode()
        return b""


def _norm(path: str) -> str:
    clean = str(PurePosixPath("/", path))[1:]
    if not clean or ".." in PurePosixPath(clean).parts:
        raise ValueError(f"bad archive path {path!r}")
    return clean


class Tree:
    """Paths (relative, no leading slash) to entries; parents are created as needed."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}

    def __contains__(self, path: str) -> bool:
        return _norm(path) in self._entries

    def __getitem__(self, path: str) -> Entry:
        return self._entries[_norm(path)]

    def __len__(self) -> int:
        return len(self._entries)

    def _put(self, entry: Entry) -> None:
        parent = str(PurePosixPath(entry.path).parent)
        if parent != ".":
            existing = self._entries.get(parent)
            if existing is None:
                self.add_dir(parent)
            elif existing.kind != "dir":
                raise ValueError(f"{parent} is a {existing.kind}, not a directory")
        self._entries[entry.path] = entry

    def add_dir(self, path: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
        self._put(Entry(_norm(path), "dir", mode, uid=uid, gid=gid))

    def add_file(
        self,
        path: str,
        *,
        data: bytes | str | None = None,
        source: Path | None = None,
        mode: int = 0o644,
    ) -> None:
        if (data is None) == (source is None):
            raise ValueError("give exactly one of data and source")
        if isinstance(data, str):
            data = data.encode()
        self._put(Entry(_norm(path), "file", mode, data=data, source=source))

    def add_symlink(self, path: str, target: str) -> None:
        self._put(Entry(_norm(path), "symlink", 0o777, target=target))

    def add_chardev(self, path: str, major: int, minor: int, mode: int = 0o600) -> None:
        self._put(Entry(_norm(path), "chardev", mode, rdev=(major, minor)))

    def entries(self) -> Iterator[Entry]:
        for path in sorted(self._entries):
            yield self._entries[path]

    def listing(self) -> list[str]:
        """``ls -l``-like lines, one per entry, sorted: handy for tests and debugging."""
        lines = []
        for e in self.entries():
            mode = stat.filemode(MODE_BITS[e.kind] | e.mode)
            extra = f" -> {e.target}" if e.kind == "symlink" else ""
            if e.kind == "chardev":
                extra = f" [{e.rdev[0]},{e.rdev[1]}]"
            lines.append(f"{mode} {e.uid}:{e.gid} /{e.path}{extra}")
        return lines

    def write_cpio(self, out: BinaryIO, mtime: int = 0) -> str:
        """Write the newc archive; return the sha256 of what was written."""
        digest = hashlib.sha256()

        def put(chunk: bytes) -> None:
            digest.update(chunk)
            out.write(chunk)

        for ino, e in enumerate(self.entries(), start=1):
            body = e.content()
            put(_header(e.path, ino, MODE_BITS[e.kind] | e.mode, e, len(body), mtime))
            put(body + _pad(len(body)))
        put(_header("TRAILER!!!", 0, 0, None, 0, 0))
        return digest.hexdigest()


def _pad(length: int) -> bytes:
    return b"\0" * (-length % 4)


def _header(name: str, ino: int, mode: int, e: Entry | None, size: int, mtime: int) -> bytes:
    major, minor = e.rdev if e else (0, 0)
    nlink = 2 if e and e.kind == "dir" else 1
    uid, gid = (e.uid, e.gid) if e else (0, 0)
    fields = [ino, mode, uid, gid, nlink, mtime, size, 0, 0, major, minor, len(name) + 1, 0]
    head = b"070701" + b"".join(b"%08X" % value for value in fields) + name.encode() + b"\0"
    return head + _pad(len(head))


def read_cpio_names(data: bytes) -> list[str]:
    """The member names of a newc archive (for tests)."""
    names: list[str] = []
    pos = 0
    while True:
        if data[pos : pos + 6] != b"070701":
            raise ValueError(f"bad cpio header at {pos}")
        size = int(data[pos + 54 : pos + 62], 16)
        namesize = int(data[pos + 94 : pos + 102], 16)
        name = data[pos + 110 : pos + 110 + namesize - 1].decode()
        pos += 110 + namesize
        pos += -pos % 4
        if name == "TRAILER!!!":
            return names
        names.append(name)
        pos += size + (-size % 4)
