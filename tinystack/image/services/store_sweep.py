"""Leftovers in the object store: data of uploads a crash interrupted.

A file store's interrupted upload is a ``.partial`` file the service removes when it
starts; in a swift store it is the first objects of a segmented image whose manifest
was never written (a streamed PUT cut short stores nothing). When the service starts,
every swift store's keys that no location of the store claims and that nothing wrote
for ``older_than`` seconds (an upload still running keeps writing) are deleted with
their segments.
"""

from __future__ import annotations

import logging

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
