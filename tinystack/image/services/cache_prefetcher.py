"""The cache prefetcher: a thread that caches the images queued through ``PUT /v2/cache/{id}``.

Every ``cache_prefetch_interval`` seconds it takes the queue in order; an image that
is gone or not active is dropped from the queue; one that is read fully from a
store is published into the cache (which prunes to its size limit). Each run also
cleans and prunes the cache (upstream's cleaner and pruner, see ``cache.py``).
"""

from __future__ import annotations

import logging
import threading

from tinystack.image.services._access import get_row
from tinystack.image.services.deps import Deps
from tinystack.image.store.base import DataNotFound, StoreError

LOG = logging.getLogger(__name__)


def fetch(deps: Deps, image_id: str) -> bool:
    """Cache ``image_id`` now; whether it is cached afterwards."""
    cache = deps.cache
    if cache is None:
        return False
    with deps.db.reader() as session:
        image = get_row(session, image_id)
        if image is None or image.status != "active":
            cache.dequeue(image_id)
            return False
        size = image.size or 0
        copies = [(loc.url, loc.store) for loc in image.locations if loc.status == "active"]
    fill = cache.begin_fill(image_id, size)
    if fill is None:
        cache.dequeue(image_id)
        return cache.is_cached(image_id)
    for url, store_id in copies:
        try:
            reader = deps.stores.for_location(url, store_id).open_reader(url)
        except (DataNotFound, StoreError):
            continue
        try:
            while chunk := reader.read():
                fill.write(chunk)
            return fill.commit()
        except (OSError, StoreError):
            LOG.exception("prefetching image %s failed", image_id)
            fill.abort()
            return False
        finally:
            reader.close()
    fill.abort()
    return False


class Prefetcher:
    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="image-prefetcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def run_once(self) -> int:
        cache = self._deps.cache
        if cache is None:
            return 0
        cache.clean(self._deps.opts.image_cache_stall_time)
        cache.prune()
        return sum(fetch(self._deps, image_id) for image_id in cache.queued_images())

    def _loop(self) -> None:
        while not self._stop.wait(self._deps.opts.cache_prefetch_interval):
            try:
                self.run_once()
            except Exception:
                LOG.exception("the cache prefetcher failed")
