"""Objects on disk as Swift keeps them: in the object's hash directory, the newest of
``<timestamp>.data`` (the bytes, metadata in the ``user.swift.metadata`` xattr) or
``<timestamp>.ts`` (a tombstone) is the object's state, and a newer ``<timestamp>.meta``
carries metadata set by POST. Writes go to the device's tmp/ and are renamed in, so a
reader sees a whole object or none. Each partition keeps the md5 of every suffix
directory's file names (``hashes.json``) for replication; a change appends its suffix to
``hashes.invalid``, folded in when the hashes are next asked for."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tinystack.common import direct_io
from tinystack.common.exceptions import Conflict, NotFound
from tinystack.object_store.exception import UnprocessableEntity
from tinystack.object_store.storage.paths import fsync_dir, item_dir

XATTR = "user.swift.metadata"
#: the metadata key holding the object's path, /<account>/<container>/<object>
NAME = "name"
CHUNK = 65536
HASHES = "hashes.json"
#: suffixes whose hash changed since hashes.json was written, one a line
INVALID = "hashes.invalid"


@dataclass(frozen=True, slots=True)
class ObjectState:
    """An object's newest state: its data file (None when deleted) and metadata."""

    timestamp: str
    data: Path | None
    metadata: dict[str, str]

    @property
    def deleted(self) -> bool:
        return self.data is None


def read_meta(path: Path) -> dict[str, str]:
    meta: dict[str, str] = json.loads(os.getxattr(path, XATTR))
    return meta


def _write_meta(fd: int, meta: dict[str, str]) -> None:
    os.setxattr(fd, XATTR, json.dumps(meta).encode())


class DiskFile:
    """One object's hash directory on one device."""

    def __init__(self, dev: Path, part: int, name_hash: str) -> None:
        self.dev = dev
        self.part = part
        self.dir = item_dir(dev, "objects", part, name_hash)

    def _files(self) -> list[str]:
        try:
            return sorted(os.listdir(self.dir), reverse=True)
        except FileNotFoundError:
            return []

    def state(self) -> ObjectState | None:
        """The newest .data or .ts, with a newer .meta's metadata applied; None: never seen."""
        meta_file: str | None = None
        for name in self._files():
            if name.endswith(".meta") and meta_file is None:
                meta_file = name
            elif name.endswith(".data") or name.endswith(".ts"):
                path = self.dir / name
                meta = read_meta(path)
                timestamp = name.rsplit(".", 1)[0]
                if name.endswith(".ts"):
                    return ObjectState(timestamp, None, meta)
                if meta_file is not None and meta_file > name:
                    fast = read_meta(self.dir / meta_file)
                    kept = {k: v for k, v in meta.items() if not _user_meta(k)}
                    meta = {**kept, **fast}
                return ObjectState(timestamp, path, meta)
        return None

    def open(self) -> ObjectState:
        state = self.state()
        if state is None or state.deleted:
            raise NotFound()
        return state

    def _check_newer(self, timestamp: str) -> ObjectState | None:
        state = self.state()
        if state is not None and state.timestamp >= timestamp:
            raise Conflict(f"X-Timestamp {timestamp} is not newer than {state.timestamp}")
        return state

    def writer(self, timestamp: str, meta: dict[str, str], etag: str | None) -> Writer:
        self._check_newer(timestamp)
        return Writer(self, timestamp, meta, etag)

    def delete(self, timestamp: str, meta: dict[str, str]) -> ObjectState | None:
        """Write a tombstone; returns the state it replaced."""
        previous = self._check_newer(timestamp)
        self._put_file(f"{timestamp}.ts", b"", {**meta, "X-Timestamp": timestamp})
        return previous

    def post(self, timestamp: str, meta: dict[str, str]) -> None:
        state = self.open()
        if state.timestamp >= timestamp:
            raise Conflict()
        self._put_file(f"{timestamp}.meta", b"", {**meta, "X-Timestamp": timestamp})

    def _put_file(self, name: str, body: bytes, meta: dict[str, str]) -> None:
        tmp = _tmp_path(self.dev)
        with open(tmp, "wb") as f:
            f.write(body)
            _write_meta(f.fileno(), meta)
            f.flush()
            os.fsync(f.fileno())
        self.commit(tmp, name)

    def commit(self, tmp: Path, name: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, self.dir / name)
        fsync_dir(self.dir)
        self.cleanup()
        invalidate_suffix(self.dev, self.part, self.dir.parent.name)

    def cleanup(self) -> None:
        """Keep the newest .data or .ts and any newer .meta; remove the rest."""
        keep_meta = True
        found = False
        for name in self._files():
            if found or (name.endswith(".meta") and not keep_meta):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.dir / name)
            elif name.endswith(".meta"):
                keep_meta = False
            elif name.endswith((".data", ".ts")):
                found = True


def _user_meta(key: str) -> bool:
    lower = key.lower()
    return lower.startswith("x-object-meta-") or lower in (
        "content-type", "content-disposition", "content-encoding", "x-delete-at",
    )  # fmt: skip


def _tmp_path(dev: Path) -> Path:
    tmp = dev / "tmp"
    tmp.mkdir(exist_ok=True)
    return tmp / uuid.uuid4().hex


class Writer:
    """An object's bytes on their way in: tmp file, md5, then the rename."""

    def __init__(self, disk: DiskFile, timestamp: str, meta: dict[str, str], etag: str | None):
        self.disk = disk
        self.timestamp = timestamp
        self.meta = meta
        self.etag = etag.strip('"').lower() if etag else None
        self.path = _tmp_path(disk.dev)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        # a large object goes to the disk past the page cache (common/direct_io): through
        # it, each replica's write cost 2-3 s of CPU per GiB; upstream's object server
        # drops those pages after its fsync as well
        self.file = direct_io.SequentialWriter(self.fd)
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0

    def write(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            self.file.write(chunk)
            self.md5.update(chunk)
            self.size += len(chunk)

    def commit(self, expected_size: int | None) -> dict[str, str]:
        try:
            if expected_size is not None and expected_size != self.size:
                raise UnprocessableEntity("Client disconnected or sent a short body")
            digest = self.md5.hexdigest()
            if self.etag and self.etag != digest:
                raise UnprocessableEntity()
            meta = {
                **self.meta,
                "X-Timestamp": self.timestamp,
                "ETag": digest,
                "Content-Length": str(self.size),
            }
            self.file.finish()
            _write_meta(self.fd, meta)
            os.fsync(self.fd)
            self._close()
            self.disk._check_newer(self.timestamp)
            self.disk.commit(self.path, f"{self.timestamp}.data")
            return meta
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        self._close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def _close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)


#: bytes a GET reads at a time (each chunk is a trip to a worker thread)
READ_CHUNK = 1024 * 1024


def read_range(path: Path, start: int, end: int) -> Iterator[bytes]:
    """Bytes ``start`` to ``end`` (exclusive) of a data file, in chunks."""
    with open(path, "rb") as f:
        f.seek(start)
        left = end - start
        while left > 0:
            chunk = f.read(min(READ_CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


# -- suffix hashes ---------------------------------------------------------------------
def _hashes_file(dev: Path, part: int) -> Path:
    return dev / "objects" / str(part) / HASHES


@contextlib.contextmanager
def _locked(part_dir: Path) -> Iterator[None]:
    part_dir.mkdir(parents=True, exist_ok=True)
    with open(part_dir / ".lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        yield


def invalidate_suffix(dev: Path, part: int, suffix: str) -> None:
    """Mark the suffix's hash stale: a line appended to ``hashes.invalid`` (as Swift
    does; rewriting hashes.json on every write cost more than writing a small object)."""
    part_dir = dev / "objects" / str(part)
    with _locked(part_dir), open(part_dir / INVALID, "a") as f:
        f.write(suffix + "\n")


def _load_hashes(path: Path) -> dict[str, str | None]:
    try:
        found: dict[str, str | None] = json.loads(path.read_text())
        return found
    except (FileNotFoundError, ValueError):
        return {}


def _save_hashes(path: Path, hashes: dict[str, str | None]) -> None:
    tmp = path.with_name(f".{HASHES}.{uuid.uuid4().hex}")
    tmp.write_text(json.dumps(hashes))
    os.replace(tmp, path)


def suffix_hashes(dev: Path, part: int) -> dict[str, str]:
    """Every suffix's hash (md5 of its objects' file names), recomputing invalidated ones."""
    part_dir = dev / "objects" / str(part)
    path = _hashes_file(dev, part)
    if not part_dir.is_dir():
        return {}
    with _locked(part_dir):
        return _refresh(part_dir, path)


def _refresh(part_dir: Path, path: Path) -> dict[str, str]:
    hashes = _load_hashes(path)
    invalid_path = part_dir / INVALID
    try:
        invalid = invalid_path.read_text().split()
    except FileNotFoundError:
        invalid = []
    for suffix in invalid:
        hashes[suffix] = None
    suffixes = [s for s in os.listdir(part_dir) if len(s) == 3]
    changed = bool(invalid)
    for suffix in suffixes:
        if hashes.get(suffix) is None:
            hashes[suffix] = _hash_suffix(part_dir / suffix)
            changed = True
    for gone in set(hashes) - set(suffixes):
        del hashes[gone]
        changed = True
    if changed:
        _save_hashes(path, hashes)
    if invalid:  # folded into hashes.json (under the partition's lock)
        invalid_path.write_text("")
    return {k: v for k, v in hashes.items() if v is not None}


def _hash_suffix(path: Path) -> str:
    md5 = hashlib.md5(usedforsecurity=False)
    for name_hash in sorted(os.listdir(path)):
        for name in sorted(os.listdir(path / name_hash)):
            md5.update(f"{name_hash}/{name}".encode())
    return md5.hexdigest()
