"""A snapshot's metadata: show all or one key, merge, replace, delete a key."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.db import Database
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models
from tinystack.volume.services import snapshots
from tinystack.volume.services._protection_rows import (
    authorized_snapshot_row,
    snapshot_target,
)

GET = "volume:get_snapshot_metadata"
UPDATE = "volume:update_snapshot_metadata"
DELETE = "volume:delete_snapshot_metadata"


def check(metadata: dict[str, str]) -> None:
    """Upstream's metadata rules: keys of 1-255 characters, values of at most 255."""
    for key, value in metadata.items():
        if not key:
            raise exception.InvalidVolumeMetadata(
                reason=f"Metadata key: {key} has a minimum character requirement of 1."
            )
        if len(key) > 255:
            raise exception.InvalidVolumeMetadataSize(
                reason=f"Metadata property key {key} greater than 255 characters."
            )
        if len(value) > 255:
            raise exception.InvalidVolumeMetadataSize(
                reason=f"Metadata property key {key} value greater than 255 characters."
            )


def _read(session: Session, snapshot_id: str) -> dict[str, str]:
    return dict(
        session.execute(
            select(models.SnapshotMetadata.key, models.SnapshotMetadata.value).where(
                models.SnapshotMetadata.snapshot_id == snapshot_id
            )
        )
        .tuples()
        .all()
    )


def get(db: Database, ctx: RequestContext, snapshot_id: str) -> dict[str, str]:
    with db.reader() as session:
        found = authorized_snapshot_row(session, ctx, snapshot_id, snapshots.GET)
        ctx.can(GET, snapshot_target(found))
        return _read(session, snapshot_id)


def get_key(db: Database, ctx: RequestContext, snapshot_id: str, key: str) -> str:
    found = get(db, ctx, snapshot_id)
    if key not in found:
        raise exception.SnapshotMetadataNotFound(snapshot_id=snapshot_id, metadata_key=key)
    return found[key]


def update(
    db: Database, ctx: RequestContext, snapshot_id: str, metadata: dict[str, str], *, replace: bool
) -> dict[str, str]:
    """Merge ``metadata`` into the snapshot's (``replace``: it becomes the whole of it)."""

    def tx(session: Session) -> dict[str, str]:
        found = authorized_snapshot_row(session, ctx, snapshot_id, snapshots.GET, lock=True)
        ctx.can(UPDATE, snapshot_target(found))
        merged = dict(metadata) if replace else {**_read(session, snapshot_id), **metadata}
        check(merged)
        session.execute(
            delete(models.SnapshotMetadata).where(
                models.SnapshotMetadata.snapshot_id == snapshot_id
            )
        )
        for key, value in merged.items():
            session.add(models.SnapshotMetadata(snapshot_id=snapshot_id, key=key, value=value))
        found.updated_at = utcnow()
        session.flush()
        return _read(session, snapshot_id)

    return db.write(tx)


def delete_key(db: Database, ctx: RequestContext, snapshot_id: str, key: str) -> None:
    def tx(session: Session) -> None:
        found = authorized_snapshot_row(session, ctx, snapshot_id, snapshots.GET, lock=True)
        ctx.can(GET, snapshot_target(found))
        if key not in _read(session, snapshot_id):
            raise exception.SnapshotMetadataNotFound(snapshot_id=snapshot_id, metadata_key=key)
        ctx.can(DELETE, snapshot_target(found))
        session.execute(
            delete(models.SnapshotMetadata).where(
                models.SnapshotMetadata.snapshot_id == snapshot_id,
                models.SnapshotMetadata.key == key,
            )
        )
        found.updated_at = utcnow()

    db.write(tx)
