"""The node-local image cache (Glance's image cache with its sqlite driver).

Image data read from a store is kept in ``<image_cache_dir>/data/<image id>`` so the
next download is served from local disk. A complete download through the API fills
the cache as it streams (a tee into ``incomplete/``, renamed into place once every
byte arrived); ``PUT /v2/cache/{image_id}`` queues an image (a file in ``queue/``)
and the prefetcher (``cache_prefetcher.py``) fills it in the background. Hits and
access times live in ``cache.db`` (sqlite, local to the node like the data). The
cache is bounded: after every addition the least recently used entries are pruned
until the total fits ``image_cache_max_size``. Everything here is per node, not in
the service database, as upstream.

Upstream's ``glance-cache-cleaner`` and ``glance-cache-pruner`` are cron jobs; here the
prefetcher's thread runs both passes every interval: :meth:`ImageCache.clean` removes
fills stalled longer than ``image_cache_stall_time`` and data files the cache does not
know (and rows whose file is gone), :meth:`ImageCache.prune` shrinks the cache to its
limit (which may have been lowered since the last addition).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

LOG = logging.getLogger(__name__)

_SCHEMA = """CREATE TABLE IF NOT EXISTS cached_images (
    image_id TEXT PRIMARY KEY, size INTEGER NOT NULL, hits INTEGER NOT NULL DEFAULT 0,
    last_accessed REAL NOT NULL, last_modified REAL NOT NULL)"""


@dataclass(frozen=True, slots=True)
class CachedImage:
    image_id: str
    size: int
    hits: int
    last_accessed: float
    last_modified: float


class CacheFill:
    """Data of one image being written into the cache; :meth:`commit` publishes it."""

    def __init__(self, cache: ImageCache, image_id: str, expected_size: int) -> None:
        self._cache = cache
        self.image_id = image_id
        self.expected_size = expected_size
        self.written = 0
        self._path = cache.incomplete / f"{image_id}.{uuid.uuid4().hex}"
        self._fd: int | None = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)

    def write(self, chunk: bytes) -> None:
        if self._fd is None:
            return
        view = memoryview(chunk)
        while view:
            view = view[os.write(self._fd, view) :]
        self.written += len(chunk)

    def commit(self) -> bool:
        """Publish the data if it is the whole image; otherwise discard it."""
        if self._fd is None:
            return False
        os.close(self._fd)
        self._fd = None
        if self.written != self.expected_size:
            self._discard()
            return False
        try:
            self._cache.publish(self.image_id, self._path, self.written)
        except FileNotFoundError:
            return False  # the cleaner took it for stalled
        return True

    def abort(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._discard()

    def _discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()


class ImageCache:
    def __init__(self, root: Path, max_size: int) -> None:
        self.root = root
        self.max_size = max_size
        self.data = root / "data"
        self.incomplete = root / "incomplete"
        self.queue_dir = root / "queue"
        for folder in (self.data, self.incomplete, self.queue_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._db() as db:
            db.execute(_SCHEMA)
        # leftovers of fills interrupted by a crash
        for leftover in self.incomplete.iterdir():
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        self._forget_missing()

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.root / "cache.db", timeout=30)
        try:
            with db:
                yield db
        finally:
            db.close()

    def _forget_missing(self) -> None:
        with self._lock, self._db() as db:
            ids = [r[0] for r in db.execute("SELECT image_id FROM cached_images")]
            gone = [(i,) for i in ids if not (self.data / i).exists()]
            db.executemany("DELETE FROM cached_images WHERE image_id = ?", gone)

    # -- reading -------------------------------------------------------------------------
    def path(self, image_id: str) -> Path | None:
        """The cached data of ``image_id`` (a hit is counted), or None."""
        path = self.data / image_id
        if not path.exists():
            return None
        with self._lock, self._db() as db:
            db.execute(
                "UPDATE cached_images SET hits = hits + 1, last_accessed = ? WHERE image_id = ?",
                (time.time(), image_id),
            )
        return path

    def is_cached(self, image_id: str) -> bool:
        return (self.data / image_id).exists()

    def cached_images(self) -> list[CachedImage]:
        with self._db() as db:
            rows = db.execute(
                "SELECT image_id, size, hits, last_accessed, last_modified FROM cached_images "
                "ORDER BY image_id"
            ).fetchall()
        return [CachedImage(*row) for row in rows]

    def queued_images(self) -> list[str]:
        entries = sorted(self.queue_dir.iterdir(), key=lambda p: p.stat().st_mtime)
        return [p.name for p in entries]

    # -- filling -------------------------------------------------------------------------
    def begin_fill(self, image_id: str, size: int) -> CacheFill | None:
        """A fill of ``image_id`` unless it is cached already or larger than the cache."""
        if self.is_cached(image_id) or size > self.max_size or "/" in image_id:
            return None
        return CacheFill(self, image_id, size)

    def publish(self, image_id: str, path: Path, size: int) -> None:
        now = time.time()
        with self._lock, self._db() as db:
            os.replace(path, self.data / image_id)
            db.execute(
                "INSERT OR REPLACE INTO cached_images VALUES (?, ?, 0, ?, ?)",
                (image_id, size, now, now),
            )
        self.dequeue(image_id)
        self.prune()

    def clean(self, stall_time: float) -> int:
        """Remove fills untouched for ``stall_time`` seconds, data files without a row
        and rows without a file; how many files were removed."""
        removed = 0
        cutoff = time.time() - stall_time
        for leftover in self.incomplete.iterdir():
            try:
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
                    removed += 1
            except FileNotFoundError:
                pass
        with self._lock, self._db() as db:
            known = {r[0] for r in db.execute("SELECT image_id FROM cached_images")}
            for entry in self.data.iterdir():
                if entry.name not in known:
                    with contextlib.suppress(FileNotFoundError):
                        entry.unlink()
                        removed += 1
            gone = [(i,) for i in known if not (self.data / i).exists()]
            db.executemany("DELETE FROM cached_images WHERE image_id = ?", gone)
        if removed:
            LOG.info("image cache cleaner removed %d files", removed)
        return removed

    def prune(self) -> tuple[int, int]:
        """Drop least recently used entries until the cache fits; (files, bytes) pruned."""
        files = pruned = 0
        with self._lock, self._db() as db:
            rows = db.execute(
                "SELECT image_id, size FROM cached_images ORDER BY last_accessed"
            ).fetchall()
            total = sum(size for _, size in rows)
            for image_id, size in rows:
                if total <= self.max_size:
                    break
                with contextlib.suppress(FileNotFoundError):
                    (self.data / image_id).unlink()
                db.execute("DELETE FROM cached_images WHERE image_id = ?", (image_id,))
                total -= size
                files, pruned = files + 1, pruned + size
        if files:
            LOG.info("image cache pruned %d images (%d bytes)", files, pruned)
        return files, pruned

    # -- the queue and removal -----------------------------------------------------------
    def queue(self, image_id: str) -> bool:
        """Queue ``image_id`` for the prefetcher; False when it is cached already."""
        if self.is_cached(image_id) or "/" in image_id:
            return False
        (self.queue_dir / image_id).touch()
        return True

    def dequeue(self, image_id: str) -> bool:
        try:
            (self.queue_dir / image_id).unlink()
        except FileNotFoundError:
            return False
        return True

    def delete(self, image_id: str) -> bool:
        with self._lock, self._db() as db:
            db.execute("DELETE FROM cached_images WHERE image_id = ?", (image_id,))
            try:
                (self.data / image_id).unlink()
            except FileNotFoundError:
                return False
        return True

    def clear_cache(self) -> int:
        return sum(self.delete(entry.image_id) for entry in self.cached_images())

    def clear_queue(self) -> int:
        return sum(self.dequeue(image_id) for image_id in self.queued_images())
