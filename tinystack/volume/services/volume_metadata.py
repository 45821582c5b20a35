"""A volume's metadata: list, merge (POST), replace (PUT), one key, delete a key."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.db import Database
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models
from tinystack.volume.services import _rows


def _current(session: Session, volume_id: str) -> dict[str, str]:
    return dict(
        session.execute(
            select(models.VolumeMetadata.key, models.VolumeMetadata.value).where(
                models.VolumeMetadata.volume_id == volume_id
            )
        )
        .tuples()
        .all()
    )


def get(db: Database, ctx: RequestContext, volume_id: str, rule: str) -> dict[str, str]:
    with db.reader() as session:
        row = _rows.visible_volume_row(session, ctx, volume_id)
        _rows.authorize_volume(ctx, rule, row)
        return _current(session, volume_id)


def get_item(db: Database, ctx: RequestContext, volume_id: str, key: str, rule: str) -> str:
    found = get(db, ctx, volume_id, rule)
    if key not in found:
        raise exception.VolumeMetadataNotFound(volume_id=volume_id, metadata_key=key)
    return found[key]


def update(
    db: Database,
    ctx: RequestContext,
    volume_id: str,
    metadata: dict[str, str],
    rule: str,
    *,
    replace: bool,
) -> dict[str, str]:
    """Merge ``metadata`` into the volume's (``replace``: make it the volume's); returns
    the volume's metadata after."""

    def tx(session: Session) -> dict[str, str]:
        row = _rows.visible_volume_row(session, ctx, volume_id, lock=True)
        _rows.authorize_volume(ctx, rule, row)
        if row.status == "maintenance":
            raise exception.InvalidVolume(reason="Volume is in maintenance.")
        if replace:
            session.execute(
                delete(models.VolumeMetadata).where(models.VolumeMetadata.volume_id == volume_id)
            )
            session.flush()
        for key, value in metadata.items():
            item = session.get(models.VolumeMetadata, (volume_id, key))
            if item is None:
                session.add(models.VolumeMetadata(volume_id=volume_id, key=key, value=value))
            else:
                item.value = value
        row.updated_at = utcnow()
        session.flush()
        return _current(session, volume_id)

    return db.write(tx)


def delete_item(db: Database, ctx: RequestContext, volume_id: str, key: str, rule: str) -> None:
    def tx(session: Session) -> None:
        row = _rows.visible_volume_row(session, ctx, volume_id, lock=True)
        _rows.authorize_volume(ctx, rule, row)
        item = session.get(models.VolumeMetadata, (volume_id, key))
        if item is None:
            raise exception.VolumeMetadataNotFound(volume_id=volume_id, metadata_key=key)
        session.delete(item)
        row.updated_at = utcnow()

    db.write(tx)
