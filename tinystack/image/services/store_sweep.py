"""Leftovers in the object store: data of uploads a crash interrupted.

A file store's interrupted upload is a ``.partial`` file the service removes when it
starts; in a swift store it is the first objects of a segmented image whose manifest
was never written (a streamed PUT cut short stores nothing). When the service starts,
every swift store's keys that no location of the store claims and that nothing wrote
for ``older_than`` seconds (an upload still running keeps writing) are deleted with
their segments, in a thread of its own (the object store and identity may still be
starting: the image service does not wait for them).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import select

from tinystack.image import models
from tinystack.image.services.deps import Deps
from tinystack.image.store.base import StoreError
from tinystack.image.store.swift import SwiftStore

LOG = logging.getLogger(__name__)


def sweep(deps: Deps, older_than: float) -> int:
    """Delete unclaimed, stale image data from the swift stores; how many images' data."""
    removed = 0
    for store in deps.stores:
        if not isinstance(store, SwiftStore):
            continue
        with deps.db.reader() as session:
            urls = session.scalars(
                select(models.ImageLocation.url).where(models.ImageLocation.store == store.id)
            ).all()
        claimed = {store.key_of(url) for url in urls}
        try:
            for key in store.stale_keys(older_than):
                if key in claimed:
                    continue
                LOG.info("store %s: removing %s, which no image location claims", store.id, key)
                store.delete(store.location(key))
                removed += 1
        except StoreError:
            LOG.warning("store %s: leftovers not swept", store.id, exc_info=True)
    return removed


def start(deps: Deps, older_than: float) -> threading.Thread | None:
    """Sweep in the background when a swift store is enabled; the thread, or None."""
    if not any(isinstance(store, SwiftStore) for store in deps.stores):
        return None
    thread = threading.Thread(target=_sweep_logged, args=(deps, older_than),
                              name="image-store-sweep", daemon=True)  # fmt: skip
    thread.start()
    return thread


def _sweep_logged(deps: Deps, older_than: float) -> None:
    swept = sweep(deps, older_than)
    if swept:
        LOG.info("removed the data of %d interrupted uploads from the object store", swept)
