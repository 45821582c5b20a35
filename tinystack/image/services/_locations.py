"""An image's locations: one row per copy of its data, and the columns that summarise them.

``images.location`` (the first location's URL) and ``images.store`` (every store
holding the data, sorted and comma separated: the ``stores`` attribute) are kept in step with
the rows here, in the same transaction, so lists render without a join.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from tinystack.common import timeutils
from tinystack.common.rpc.payload import JSON
from tinystack.image import models


def sync(image: models.Image) -> None:
    """Recompute the summary columns from the location rows."""
    active = [loc for loc in image.locations if loc.status == "active"]
    image.location = active[0].url if active else None
    stores = sorted({loc.store for loc in active if loc.store})
    image.store = ",".join(stores) or None


def add(
    image: models.Image, url: str, store: str | None, metadata: dict[str, JSON] | None = None
) -> models.ImageLocation:
    position = max((loc.position for loc in image.locations), default=-1) + 1
    location = models.ImageLocation(
        url=url,
        store=store,
        meta=dict(metadata or {}),
        status="active",
        position=position,
        created_at=timeutils.utcnow(),
    )
    image.locations.append(location)
    sync(image)
    return location


def remove(image: models.Image, location: models.ImageLocation) -> None:
    image.locations.remove(location)
    sync(image)


def clear(session: Session, image: models.Image) -> list[tuple[str, str | None]]:
    """Drop every location; return (url, store) of each, for deleting the data after commit."""
    gone = [(loc.url, loc.store) for loc in image.locations]
    image.locations = []
    sync(image)
    session.flush()
    return gone


def in_store(image: models.Image, store_id: str) -> models.ImageLocation | None:
    for loc in image.locations:
        if loc.store == store_id and loc.status == "active":
            return loc
    return None


def metadata(location: models.ImageLocation) -> dict[str, JSON]:
    """The location's metadata as the API shows it (with its store, as multi-store does)."""
    meta: dict[str, JSON] = dict(location.meta or {})
    if location.store:
        meta["store"] = location.store
    return meta
