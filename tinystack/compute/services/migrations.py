"""Migration records (resize, cold and live migration, evacuation): create, advance,
list."""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from tinystack.common.api import pagination as pg
from tinystack.common.db import Database
from tinystack.common.timeutils import utcnow
from tinystack.compute import exception, models
from tinystack.compute.objects import LIVE_UNDER_WAY
from tinystack.compute.services.records import ServerRecord, from_row


@dataclass(frozen=True, slots=True)
class MigrationRecord:
    id: int
    uuid: str
    instance_uuid: str
    source_compute: str | None
    dest_compute: str | None
    source_node: str | None
    dest_node: str | None
    dest_host: str | None
    old_flavor_id: int | None
    new_flavor_id: int | None
    status: str
    migration_type: str
    user_id: str | None
    project_id: str | None
    created_at: datetime
    updated_at: datetime | None
    memory_total: int | None = None
    memory_processed: int | None = None
    memory_remaining: int | None = None
    disk_total: int | None = None
    disk_processed: int | None = None
    disk_remaining: int | None = None


#: statuses of a resize or cold migration still under way
IN_PROGRESS = ("pre-migrating", "migrating", "post-migrating", "confirming", "reverting")
#: statuses of an evacuation whose source host has not cleaned up yet (as upstream)
EVACUATION_PENDING = ("accepted", "pre-migrating", "done")


def create(
    db: Database,
    inst: ServerRecord,
    *,
    migration_type: str,
    old_flavor_id: int | None,
    new_flavor_id: int | None,
    user_id: str | None,
    project_id: str | None,
    status: str = "pre-migrating",
    dest_compute: str | None = None,
) -> MigrationRecord:
    def write(session: Session) -> MigrationRecord:
        now = utcnow()
        row = models.Migration(
            uuid=str(uuidlib.uuid4()),
            instance_uuid=inst.uuid,
            source_compute=inst.host,
            source_node=inst.node,
            dest_compute=dest_compute,
            status=status,
            migration_type=migration_type,
            old_flavor_id=old_flavor_id,
            new_flavor_id=new_flavor_id,
            user_id=user_id,
            project_id=project_id,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        return from_row(MigrationRecord, row)

    return db.write(write)


def get(db: Database, migration_uuid: str) -> MigrationRecord:
    with db.reader() as session:
        return from_row(MigrationRecord, _row(session, migration_uuid))


def update(db: Database, migration_uuid: str, **values: Any) -> None:
    def write(session: Session) -> None:
        update_in(session, migration_uuid, **values)

    db.write(write)


def update_in(session: Session, migration_uuid: str, **values: Any) -> MigrationRecord:
    row = _row(session, migration_uuid)
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = utcnow()
    return from_row(MigrationRecord, row)


def list_migrations(
    db: Database,
    *,
    instance_uuid: str | None = None,
    host: str | None = None,
    status: str | None = None,
    migration_type: str | None = None,
    project_id: str | None = None,
    user_id: str | None = None,
    changes_since: datetime | None = None,
    changes_before: datetime | None = None,
    limit: int | None = None,
    marker: str | None = None,
) -> list[MigrationRecord]:
    table = models.Migration
    with db.reader() as session:
        query = select(table)
        if instance_uuid:
            query = query.where(table.instance_uuid == instance_uuid)
        if host:
            query = query.where((table.source_compute == host) | (table.dest_compute == host))
        if status:
            query = query.where(table.status == status)
        if migration_type:
            query = query.where(table.migration_type == migration_type)
        if project_id:
            query = query.where(table.project_id == project_id)
        if user_id:
            query = query.where(table.user_id == user_id)
        if changes_since is not None:
            query = query.where(table.updated_at >= changes_since)
        if changes_before is not None:
            query = query.where(table.updated_at <= changes_before)
        rows = [
            from_row(MigrationRecord, row)
            for row in session.scalars(query.order_by(table.created_at.desc(), table.id.desc()))
        ]
    if marker is not None:
        ids = [r.uuid for r in rows]
        if marker not in ids:
            raise pg.marker_not_found(marker)
        rows = rows[ids.index(marker) + 1 :]
    return rows[:limit] if limit is not None else rows


def evacuations_from(db: Database, host: str) -> list[MigrationRecord]:
    """The evacuations away from ``host`` that it has not cleaned up after."""
    table = models.Migration
    with db.reader() as session:
        rows = session.scalars(
            select(table).where(
                table.source_compute == host,
                table.migration_type == "evacuation",
                table.status.in_(EVACUATION_PENDING),
            )
        )
        return [from_row(MigrationRecord, row) for row in rows]


#: statuses of a live migration that ended without moving the guest
LIVE_ENDED_HERE = ("error", "failed", "cancelled")


def advance_live_in(session: Session, migration_uuid: str, status: str) -> bool:
    """Set the status of a live migration that has not switched over (its instance still
    on the source host), True; False when it had ended or the destination had taken the
    instance. With ``claim_live_in`` the one arbiter of the switch-over: the write
    transactions are serial, so exactly one of the two succeeds."""
    row = _row(session, migration_uuid)
    host = session.scalar(
        select(models.Instance.host).where(models.Instance.uuid == row.instance_uuid)
    )
    if row.status not in LIVE_UNDER_WAY or host != row.source_compute:
        return False
    row.status = status
    row.updated_at = utcnow()
    return True


def claim_live_in(session: Session, migration_uuid: str, host: str, node: str | None) -> bool:
    """The destination takes the instance of a live migration at its switch-over: the
    instance's host and node become ``host`` and ``node``; False (nothing written) when
    the migration is no longer ``post-migrating`` (the source or a restart ended it)."""
    row = _row(session, migration_uuid)
    inst = session.scalars(
        select(models.Instance).where(models.Instance.uuid == row.instance_uuid)
    ).first()
    if row.status != "post-migrating" or inst is None or inst.host != row.source_compute:
        return False
    inst.host, inst.node = host, node
    return True


def live_migrations_to(db: Database, host: str) -> list[MigrationRecord]:
    """The live migrations into ``host`` whose instance is elsewhere and that are under
    way or ended without moving it: what a copy prepared on ``host`` may be left of.
    Only an instance's latest migration (a later move may have made a copy here)."""
    table, inst = models.Migration, models.Instance
    later = aliased(models.Migration)
    newest = (
        select(func.max(later.id)).where(later.instance_uuid == table.instance_uuid)
    ).scalar_subquery()
    with db.reader() as session:
        rows = session.scalars(
            select(table)
            .join(inst, inst.uuid == table.instance_uuid)
            .where(
                table.dest_compute == host,
                table.migration_type == "live-migration",
                table.status.in_(LIVE_UNDER_WAY + LIVE_ENDED_HERE),
                inst.host != host,
                inst.deleted.is_(False),
                table.id == newest,
            )
        )
        return [from_row(MigrationRecord, row) for row in rows]


def _row(session: Session, migration_uuid: str) -> models.Migration:
    row = session.scalars(
        select(models.Migration).where(models.Migration.uuid == migration_uuid)
    ).first()
    if row is None:
        raise exception.MigrationNotFound(migration_uuid)
    return row
