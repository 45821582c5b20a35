"""Chunked backups, as Cinder's chunked driver stores them.

A backup reads the volume's raw bytes in fixed-size chunks (32 MiB by default). Each
chunk is hashed in sub-blocks (sha256 per 32 KiB, the ``<prefix>_sha256file`` object)
and stored as one object, compressed (zlib by default, or none). A chunk that is all
zeros is not stored: the metadata records a zero extent, and a restore zeroes that range
(punching holes, so a restored volume stays sparse). An incremental backup compares each
sub-block's hash with its parent's sha256 file and stores only the changed runs of
sub-blocks, each as its own object. ``<prefix>_metadata`` (JSON) lists every extent —
object name, offset, length, compression, and ``sha256_blocks``: a sha256 over the
extent's sub-block hashes, so the data is hashed once when backed up and verified with
one pass when restored — and names the parent; it is written last, so a backup without
it never completed.

Object names: ``volume_<volume id>/az_<zone>_backup_<backup id>`` followed by
``-<chunk>[-<run>]``, ``_sha256file`` or ``_metadata``. The prefix is derived from the
ids alone, so a backup interrupted by a crash is cleaned up by ``delete_backup`` even
though its row never learned where the objects went.

Throughput: hashing, compressing and storing run in a small thread pool (hashlib and
zlib release the GIL) while the next chunk is read. Compressing incompressible data
with zlib runs at a few tens of MB/s, so each chunk's compressibility is first judged
on a sample; data that does not shrink is stored as is (per-object ``compression``
null, which Cinder's format allows too).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import mmap
import os
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, BinaryIO

from tinystack.volume.backup.base import (
    BackupCorrupt,
    BackupDriver,
    BackupError,
    BackupHasDependents,
    BackupRef,
    BackupResult,
    ObjectContainer,
    ObjectNotFound,
    ObjectStore,
)

VERSION = "1.0.0"
SERVICE = "tinystack.volume.backup.chunked.ChunkedBackupDriver"
COMPRESSIONS = ("zlib", "none")
#: bytes of a chunk compressed as a trial; stored uncompressed when it shrinks < 10 %
SAMPLE = 64 << 10
#: the volume's own metadata, stored beside the backup's objects
VOLUME_META = "_volume_meta"


@dataclass(frozen=True, slots=True)
class _Chunk:
    """What the workers report for one chunk: its sub-block hashes, its extents."""

    shas: list[str]
    extents: list[dict[str, Any]]
    stored: int


def _iso_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _runs(changed: list[bool]) -> Iterator[tuple[int, int]]:
    """(first, end) index ranges of consecutive True values."""
    start = None
    for i, flag in enumerate([*changed, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            yield start, i
            start = None


class ChunkedBackupDriver(BackupDriver):
    """Backups as chunk objects in an ObjectStore (see the module docstring)."""

    def __init__(
        self,
        store: ObjectStore,
        chunk_size: int = 32 << 20,
        sha_block_size: int = 32 << 10,
        compression: str = "zlib",
        compression_level: int = 1,
        workers: int = 2,
        availability_zone: str = "nova",
    ) -> None:
        if compression not in COMPRESSIONS:
            raise ValueError(f"compression must be one of {COMPRESSIONS}")
        if chunk_size % sha_block_size:
            raise ValueError("chunk_size must be a multiple of sha_block_size")
        self.store = store
        self.chunk_size = chunk_size
        self.sha_block_size = sha_block_size
        self.compression = compression
        self.compression_level = compression_level
        self.workers = workers
        self.availability_zone = availability_zone
        self._zero = bytes(chunk_size)
        self._zero_sha = hashlib.sha256(bytes(sha_block_size)).hexdigest()

    # -- naming and metadata ---------------------------------------------------------------
    def prefix(self, backup: BackupRef) -> str:
        return f"volume_{backup.volume_id}/az_{self.availability_zone}_backup_{backup.id}"

    def _metadata(self, container: ObjectContainer, prefix: str) -> dict[str, Any]:
        try:
            meta: dict[str, Any] = json.loads(container.get_object(f"{prefix}_metadata"))
        except ObjectNotFound as exc:
            raise BackupCorrupt(f"backup {prefix} has no metadata (never completed?)") from exc
        return meta

    def _shas(self, container: ObjectContainer, prefix: str) -> list[str]:
        try:
            data = json.loads(container.get_object(f"{prefix}_sha256file"))
        except ObjectNotFound as exc:
            raise BackupCorrupt(f"backup {prefix} has no sha256 file") from exc
        if data.get("chunk_size") != self.sha_block_size:
            raise BackupError("the parent was hashed with another sha block size")
        shas: list[str] = data["sha256s"]
        return shas

    # -- backup ----------------------------------------------------------------------------
    def backup(
        self, backup: BackupRef, volume_file: BinaryIO, size: int, parent: BackupRef | None = None
    ) -> BackupResult:
        container = self.store.container(backup.container)
        prefix = self.prefix(backup)
        parent_shas: list[str] | None = None
        parent_prefix = None
        if parent is not None:
            if parent.container != backup.container or not parent.service_metadata:
                raise BackupError("an incremental backup needs its parent in the same container")
            parent_prefix = parent.service_metadata
            self._metadata(container, parent_prefix)  # the parent completed
            parent_shas = self._shas(container, parent_prefix)
        shas: list[str] = []
        extents: list[dict[str, Any]] = []
        stored = 0
        for result in self._pipeline(volume_file, size, container, prefix, parent_shas):
            shas += result.shas
            extents += result.extents
            stored += result.stored
        created = _iso_now()
        sha_doc = {"backup_id": backup.id, "volume_id": backup.volume_id, "created_at": created,
                   "chunk_size": self.sha_block_size, "sha256s": shas}  # fmt: skip
        container.put_object(f"{prefix}_sha256file", json.dumps(sha_doc).encode())
        meta = {
            "version": VERSION,
            "backup_id": backup.id,
            "volume_id": backup.volume_id,
            "backup_name": backup.name,
            "backup_description": backup.description,
            "created_at": created,
            "parent_id": parent.id if parent is not None else None,
            "parent_service_metadata": parent_prefix,
            "volume_size": size,
            "chunk_size": self.chunk_size,
            "sha_block_size": self.sha_block_size,
            "objects": extents,
        }
        container.put_object(f"{prefix}_metadata", json.dumps(meta).encode())
        count = sum(1 for e in extents if "name" in e)
        return BackupResult(
            container=container.name,
            service_metadata=prefix,
            volume_bytes=size,
            stored_bytes=stored,
            object_count=count,
            parent_id=parent.id if parent is not None else None,
        )

    def _pipeline(
        self,
        volume_file: BinaryIO,
        size: int,
        container: ObjectContainer,
        prefix: str,
        parent_shas: list[str] | None,
    ) -> Iterator[_Chunk]:
        """Read chunks in this thread; hash them in one pool and store them in another;
        the results in chunk order. Hashing is CPU work and storing is disk work: in
        separate pools a chunk is written while the next ones are hashed, where one pool
        doing both in turn left the cores or the disk idle. Chunk buffers are reused: a
        fresh 32 MiB allocation per chunk is an mmap whose page faults cost more than
        the copy itself."""
        buffers: list[bytearray] = []  # at most workers + 2, made when first needed
        #: a file that knows its holes (a qcow2 volume read by its map) says which
        #: chunks are zeros: those are neither read nor hashed
        is_hole = getattr(volume_file, "is_zero_range", None)
        #: a file that can lend its pages (a volume read by its map) is not copied: the
        #: chunk is hashed and stored from the page cache (O_DIRECT writes take it as is)
        view = getattr(volume_file, "view", None)
        hashers = max(1, min(self.workers, os.cpu_count() or 1))
        with (
            ThreadPoolExecutor(max_workers=hashers, thread_name_prefix="backup-hash") as hash_pool,
            ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="backup") as pool,
        ):
            pending: deque[tuple[bytearray | None, Future[_Chunk]]] = deque()
            offset = 0
            index = 0
            while offset < size:
                n = min(self.chunk_size, size - offset)
                buf: bytearray | None = None
                data: bytes | bytearray | memoryview | None = None
                if is_hole is not None and is_hole(offset, n):
                    volume_file.seek(offset + n)
                elif view is not None and (lent := view(offset, n)) is not None:
                    volume_file.seek(offset + n)
                    data = lent
                else:
                    buf = buffers.pop() if buffers else bytearray(self.chunk_size)
                    _read_into(volume_file, buf, n)
                    data = buf if n == len(buf) else bytes(buf[:n])
                if data is None:
                    future: Future[_Chunk] = Future()
                    future.set_result(self._chunk_job(container, prefix, index, offset, None,
                                                      None, parent_shas, n)())  # fmt: skip
                else:
                    hashed = hash_pool.submit(self._block_shas, data)
                    job = self._chunk_job(container, prefix, index, offset, data, hashed,
                                          parent_shas, n)  # fmt: skip
                    future = pool.submit(job)
                pending.append((buf, future))
                offset += n
                index += 1
                if len(pending) > self.workers:
                    done_buf, done = pending.popleft()
                    yield done.result()
                    if done_buf is not None:
                        buffers.append(done_buf)
            while pending:
                yield pending.popleft()[1].result()

    def _chunk_job(
        self,
        container: ObjectContainer,
        prefix: str,
        index: int,
        offset: int,
        data: bytes | bytearray | memoryview | None,
        hashed: Future[list[str]] | None,
        parent_shas: list[str] | None,
        length: int,
    ) -> Callable[[], _Chunk]:
        """Store one chunk of ``length`` bytes once ``hashed`` gives its sub-block
        hashes (``data`` None: known zeros)."""

        def job() -> _Chunk:
            bs = self.sha_block_size
            shas = self._zero_shas(length) if hashed is None else hashed.result()
            first = offset // bs
            if parent_shas is None:
                runs = [(0, len(shas))]
            else:
                old = parent_shas[first : first + len(shas)]
                changed = [i >= len(old) or old[i] != sha for i, sha in enumerate(shas)]
                runs = list(_runs(changed))
            extents = []
            stored = 0
            for k, (start, end) in enumerate(runs):
                if data is None:
                    first_byte, end_byte = start * bs, min(end * bs, length)
                    extents.append({"offset": offset + first_byte,
                                    "length": end_byte - first_byte, "zero": True})  # fmt: skip
                    continue
                # the whole chunk without a copy; a run of an incremental as a copy
                part = (
                    data if (start, end) == (0, len(shas)) else bytes(data[start * bs : end * bs])
                )
                name = f"{prefix}-{index + 1:05d}" + (f"-{k:03d}" if parent_shas else "")
                extent, n = self._store(container, name, offset + start * bs, part, shas[start:end])
                extents.append(extent)
                stored += n
            return _Chunk(shas, extents, stored)

        return job

    def _zero_shas(self, length: int) -> list[str]:
        """The sub-block hashes of ``length`` zero bytes."""
        bs = self.sha_block_size
        shas = [self._zero_sha] * (length // bs)
        if length % bs:
            shas.append(hashlib.sha256(bytes(length % bs)).hexdigest())
        return shas

    def _block_shas(self, data: bytes | bytearray | memoryview) -> list[str]:
        """sha256 of each sub-block (zeros: a precomputed digest, no hashing)."""
        bs = self.sha_block_size
        if not isinstance(data, memoryview) and self._is_zero(data):
            return self._zero_shas(len(data))
        view = memoryview(data)
        return [hashlib.sha256(view[i : i + bs]).hexdigest() for i in range(0, len(data), bs)]

    @staticmethod
    def _digest(shas: list[str]) -> str:
        """An extent's hash: sha256 over its sub-block digests (a hash list), so the
        data is hashed once at backup time and verified with one pass at restore."""
        return hashlib.sha256("".join(shas).encode()).hexdigest()

    def _is_zero(self, data: bytes | bytearray) -> bool:
        """All zeros? (bytes comparison is a memcmp; memoryview's is per element)"""
        return data == (self._zero if len(data) == len(self._zero) else bytes(len(data)))

    def _store(
        self,
        container: ObjectContainer,
        name: str,
        offset: int,
        part: bytes | bytearray | memoryview,
        shas: list[str],
    ) -> tuple[dict[str, Any], int]:
        """Store one extent (unless it is zeros: its sub-block hashes say so); its
        metadata entry and stored bytes."""
        if shas == self._zero_shas(len(part)):
            return {"offset": offset, "length": len(part), "zero": True}, 0
        payload: bytes | memoryview = memoryview(part)
        compression = None
        if self.compression == "zlib" and self._compressible(part):
            packed = zlib.compress(part, self.compression_level)
            if len(packed) < len(part):
                payload, compression = packed, "zlib"
        container.put_object(name, payload)
        entry = {
            "name": name,
            "offset": offset,
            "length": len(part),
            "compression": compression,
            "sha256_blocks": self._digest(shas),
        }
        return entry, len(payload)

    @staticmethod
    def _compressible(part: bytes | bytearray | memoryview) -> bool:
        """Does a sample (four slices across the extent) shrink by 10 % or more?"""
        view = memoryview(part)
        step = max(1, len(part) // 4)
        sample = b"".join(view[i : i + SAMPLE // 4] for i in range(0, len(part), step))
        return len(zlib.compress(sample, 1)) < 0.9 * len(sample)

    # -- restore ---------------------------------------------------------------------------
    def _chain(self, container: ObjectContainer, prefix: str) -> list[dict[str, Any]]:
        """The backup's metadata and its parents', the full backup first."""
        chain = [self._metadata(container, prefix)]
        while chain[-1].get("parent_service_metadata"):
            if len(chain) > 10000:
                raise BackupCorrupt(f"backup chain of {prefix} does not end")
            chain.append(self._metadata(container, chain[-1]["parent_service_metadata"]))
        return chain[::-1]

    def restore(self, backup: BackupRef, volume_file: BinaryIO, size: int) -> None:
        container = self.store.container(backup.container, create=False)
        chain = self._chain(container, backup.service_metadata or self.prefix(backup))
        if chain[-1]["volume_size"] > size:
            raise BackupError(
                f"the backup holds {chain[-1]['volume_size']} bytes, the volume only {size}"
            )
        zeroes = getattr(volume_file, "write_zeroes", None)
        for meta in chain:  # the full backup first: each incremental overwrites it
            for extent, data in self._fetched(container, meta["objects"]):
                volume_file.seek(extent["offset"])
                if data is not None:
                    volume_file.write(data)
                elif zeroes is not None:
                    zeroes(extent["length"])
                else:
                    _write_zeros(volume_file, extent["length"])
        volume_file.flush()

    def _fetched(
        self, container: ObjectContainer, extents: list[dict[str, Any]]
    ) -> Iterator[tuple[dict[str, Any], memoryview | None]]:
        """Each extent with its verified data (None for zeros), fetched and
        decompressed in the pool, in order; the data is valid until the next item."""
        # page-aligned (anonymous maps): a store can read into them and a volume write
        # from them with O_DIRECT, without a copy through the page cache
        buffers = [mmap.mmap(-1, self.chunk_size) for _ in range(self.workers + 2)]

        def fetch(extent: dict[str, Any], buf: mmap.mmap) -> memoryview | None:
            return None if extent.get("zero") else self._verified(container, extent, buf)

        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="restore") as pool:
            pending: deque[tuple[dict[str, Any], mmap.mmap, Future[memoryview | None]]] = deque()
            for extent in extents:
                buf = buffers.pop()
                pending.append((extent, buf, pool.submit(fetch, extent, buf)))
                if len(pending) > self.workers:
                    first, done_buf, future = pending.popleft()
                    yield first, future.result()
                    buffers.append(done_buf)
            while pending:
                first, _buf, future = pending.popleft()
                yield first, future.result()

    def _verified(
        self, container: ObjectContainer, extent: dict[str, Any], buf: mmap.mmap
    ) -> memoryview:
        """An extent's data, read into ``buf`` (when it fits), decompressed and checked."""
        try:
            data = container.read_object(extent["name"], buf)
        except ObjectNotFound as exc:
            raise BackupCorrupt(f"backup object {extent['name']} is missing") from exc
        if extent.get("compression") == "zlib":
            data = memoryview(zlib.decompress(data))
        elif extent.get("compression") not in (None, "none"):
            raise BackupCorrupt(f"unknown compression {extent['compression']}")
        if len(data) != extent["length"] or (
            self._digest(self._block_shas(data)) != extent["sha256_blocks"]
        ):
            raise BackupCorrupt(f"backup object {extent['name']} does not match its hash")
        return data

    # -- the volume's own metadata, beside the objects -------------------------------------
    def put_volume_meta(self, backup: BackupRef, data: bytes) -> None:
        container = self.store.container(backup.container)
        container.put_object(self.prefix(backup) + VOLUME_META, data)

    def get_volume_meta(self, backup: BackupRef) -> bytes | None:
        prefix = backup.service_metadata or self.prefix(backup)
        try:
            container = self.store.container(backup.container, create=False)
            return container.get_object(prefix + VOLUME_META)
        except ObjectNotFound:
            return None

    # -- delete, export, import ------------------------------------------------------------
    def delete_backup(self, backup: BackupRef) -> None:
        try:
            container = self.store.container(backup.container, create=False)
        except ObjectNotFound:
            return
        prefix = backup.service_metadata or self.prefix(backup)
        for name in container.list_objects(f"volume_{backup.volume_id}/"):
            if not name.endswith("_metadata") or name == f"{prefix}_metadata":
                continue
            try:
                other = json.loads(container.get_object(name))
            except (ObjectNotFound, ValueError):
                continue
            if other.get("parent_id") == backup.id:
                raise BackupHasDependents(
                    f"backup {backup.id} has dependent incremental backup {other['backup_id']}"
                )
        container.delete_object(f"{prefix}_metadata")  # first: no restore of a half-deleted one
        listed = set(container.list_objects(prefix))
        for name in listed:
            container.delete_object(name)
        # a chunk stored just before a kill -9 may not be listed yet (the object store
        # still owes its container the update): the numbers that were in flight go too
        numbers = [int(n[len(prefix) + 1 :][:5]) for n in listed if _chunk_name(n, prefix)]
        for index in range(1, max(numbers, default=0) + self.workers + 3):
            if f"{prefix}-{index:05d}" not in listed:
                container.delete_object(f"{prefix}-{index:05d}")
        container.discard_partials(prefix)  # a chunk a kill -9 cut off mid-write

    def export_record(self, backup: BackupRef) -> str:
        container = self.store.container(backup.container, create=False)
        prefix = backup.service_metadata or self.prefix(backup)
        meta = self._metadata(container, prefix)
        return json.dumps(
            {
                "backup_service": SERVICE,
                "container": backup.container,
                "service_metadata": prefix,
                "backup_id": meta["backup_id"],
                "volume_id": meta["volume_id"],
                "parent_id": meta["parent_id"],
                "volume_size": meta["volume_size"],
                "name": meta.get("backup_name"),
                "description": meta.get("backup_description"),
            }
        )

    def import_record(self, record: str) -> BackupRef:
        try:
            data = json.loads(record)
            if data.get("backup_service") != SERVICE:
                raise BackupError(f"not a record of {SERVICE}")
            container = self.store.container(str(data["container"]), create=False)
            prefix = str(data["service_metadata"])
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"bad backup record: {exc}") from exc
        meta = self._metadata(container, prefix)
        if meta["backup_id"] != data["backup_id"] or meta["volume_id"] != data["volume_id"]:
            raise BackupCorrupt("the record does not match the stored backup")
        present = set(container.list_objects(prefix))
        missing = [e["name"] for e in meta["objects"] if "name" in e and e["name"] not in present]
        if missing or f"{prefix}_sha256file" not in present:
            raise BackupCorrupt(f"backup {meta['backup_id']} misses {len(missing) or 1} object(s)")
        return BackupRef(
            id=meta["backup_id"],
            volume_id=meta["volume_id"],
            container=container.name,
            service_metadata=prefix,
            name=meta.get("backup_name"),
            description=meta.get("backup_description"),
        )


def _read_into(f: BinaryIO, buf: bytearray, n: int) -> None:
    """Fill ``buf[:n]`` from ``f`` (``readinto`` where the file has it)."""
    view = memoryview(buf)[:n]
    readinto = getattr(f, "readinto", None)
    got = 0
    while got < n:
        if readinto is not None:
            more = readinto(view[got:])
        else:
            block = f.read(n - got)
            view[got : got + len(block)] = block
            more = len(block)
        if not more:
            raise BackupError(f"the volume ended {n - got} bytes early")
        got += more


def _write_zeros(f: BinaryIO, length: int) -> None:
    zero = bytes(min(length, 1 << 20))
    while length > 0:
        n = min(length, len(zero))
        f.write(zero[:n])
        length -= n


def _chunk_name(name: str, prefix: str) -> bool:
    """Whether ``name`` is one of the backup's chunks (``<prefix>-00001[-000]``)."""
    rest = name[len(prefix) :]
    return len(rest) >= 6 and rest[0] == "-" and rest[1:6].isdigit()
