"""Row loaders of snapshots and backups that the service modules share (snapshots,
snapshot metadata, backups, restores, transfers): the row if the caller may see it, 404
otherwise, as upstream answers for another project's resource."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.volume import exception, models


def snapshot_target(row: models.Snapshot) -> dict[str, str]:
    return {"project_id": row.project_id, "user_id": row.user_id}


def backup_target(row: models.Backup) -> dict[str, str]:
    return {"project_id": row.project_id, "user_id": row.user_id}


def snapshot_row(session: Session, snapshot_id: str, *, lock: bool = False) -> models.Snapshot:
    query = select(models.Snapshot).where(models.Snapshot.id == snapshot_id)
    if lock:
        query = query.with_for_update()
    found = session.scalars(query).first()
    if found is None:
        raise exception.SnapshotNotFound(snapshot_id=snapshot_id)
    return found


def visible_snapshot_row(
    session: Session, ctx: RequestContext, snapshot_id: str, *, lock: bool = False
) -> models.Snapshot:
    """The snapshot if the caller's project owns it or the caller is an admin (404
    otherwise, as upstream)."""
    found = snapshot_row(session, snapshot_id, lock=lock)
    if not ctx.is_admin and found.project_id != ctx.project_id:
        raise exception.SnapshotNotFound(snapshot_id=snapshot_id)
    return found


def authorized_snapshot_row(
    session: Session, ctx: RequestContext, snapshot_id: str, rule: str, *, lock: bool = False
) -> models.Snapshot:
    found = visible_snapshot_row(session, ctx, snapshot_id, lock=lock)
    ctx.can(rule, snapshot_target(found))
    return found


def backup_row(session: Session, backup_id: str, *, lock: bool = False) -> models.Backup:
    query = select(models.Backup).where(models.Backup.id == backup_id)
    if lock:
        query = query.with_for_update()
    found = session.scalars(query).first()
    if found is None:
        raise exception.BackupNotFound(backup_id=backup_id)
    return found


def authorized_backup_row(
    session: Session,
    ctx: RequestContext,
    backup_id: str,
    rule: str = "backup:get",
    *,
    lock: bool = False,
) -> models.Backup:
    """The backup if the caller's project owns it or an admin asks (404 otherwise)."""
    found = backup_row(session, backup_id, lock=lock)
    if not ctx.is_admin and found.project_id != ctx.project_id:
        raise exception.BackupNotFound(backup_id=backup_id)
    ctx.can(rule, backup_target(found))
    return found
