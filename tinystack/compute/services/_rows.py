"""The row loaders compute's service modules share (not for use outside ``services/``):
what they return are ORM rows, which the service layer turns into records or changes
inside its own transactions."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.compute import exception, models


def instance(session: Session, uuid: str, *, read_deleted: bool = False) -> models.Instance:
    """The instance row ``uuid`` (deleted ones too with ``read_deleted``)."""
    query = select(models.Instance).where(models.Instance.uuid == uuid)
    if not read_deleted:
        query = query.where(models.Instance.deleted.is_(False))
    found = session.scalars(query).first()
    if found is None:
        raise exception.InstanceNotFound(uuid)
    return found


def latest_faults(session: Session, uuids: Iterable[str]) -> dict[str, models.InstanceFault]:
    wanted = list(uuids)
    found: dict[str, models.InstanceFault] = {}
    if not wanted:
        return found
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = session.scalars(
            select(models.InstanceFault)
            .where(models.InstanceFault.instance_uuid.in_(chunk))
            .order_by(models.InstanceFault.id)
        )
        for row in rows:
            found[row.instance_uuid] = row
    return found


def migration(db: Database, migration_uuid: str) -> models.Migration:
    with db.reader() as session:
        row = session.scalars(
            select(models.Migration).where(models.Migration.uuid == migration_uuid)
        ).first()
    if row is None:
        raise exception.MigrationNotFound(migration_uuid)
    return row


def latest_migration(
    db: Database, instance_uuid: str, statuses: tuple[str, ...]
) -> models.Migration | None:
    with db.reader() as session:
        return session.scalars(
            select(models.Migration)
            .where(
                models.Migration.instance_uuid == instance_uuid,
                models.Migration.status.in_(statuses),
            )
            .order_by(models.Migration.id.desc())
        ).first()
