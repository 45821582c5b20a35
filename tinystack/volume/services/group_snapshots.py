"""Group snapshots (3.14): one snapshot of every volume of a generic group, taken
together, and groups created from them.

Creating writes the group snapshot and its member snapshots (``creating``, their quota
consumed, a ``create`` operation record each) in one transaction and casts each member
to its volume's manager, which snapshots it as any snapshot (``manager/snapshots.py``).
Deleting moves the members to ``deleting`` the same way. The group snapshot's status
follows its members (:func:`_settle`, on every read): ``available`` once all are,
``error`` if one failed; a deleted group snapshot goes with its last member.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.rpc.context import CallContext
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models
from tinystack.volume.payloads import SnapshotRequest
from tinystack.volume.services import quotas, snapshots, workers
from tinystack.volume.services.deps import Deps

__all__ = [
    "GroupSnapshotRecord", "create", "delete", "get", "list_group_snapshots", "members",
    "reset_status",
]  # fmt: skip
STATUSES = ("available", "error", "creating", "deleting", "error_deleting")
#: the workers records of group snapshots (no service runs them: members settle them)
KIND = "GroupSnapshot"


@dataclass(frozen=True, slots=True)
class GroupSnapshotRecord:
    id: str
    group_id: str
    project_id: str
    name: str | None
    description: str | None
    status: str
    group_type_id: str | None
    created_at: datetime


def _record(row: models.GroupSnapshot) -> GroupSnapshotRecord:
    return GroupSnapshotRecord(
        id=row.id, group_id=row.group_id, project_id=row.project_id, name=row.name,
        description=row.description, status=row.status, group_type_id=row.group_type_id,
        created_at=row.created_at,
    )  # fmt: skip


def _member_rows(session: Session, group_snapshot_id: str) -> list[models.Snapshot]:
    return list(
        session.scalars(
            select(models.Snapshot).where(models.Snapshot.group_snapshot_id == group_snapshot_id)
        )
    )


def _settle(session: Session, row: models.GroupSnapshot) -> bool:
    """While its create or delete is in flight (a ``GroupSnapshot`` workers record), the
    status its members give it; False when it is gone (deleted with its last member).
    A status an admin reset stays."""
    tracked = session.scalars(
        select(models.Worker.id).where(
            models.Worker.resource_type == KIND, models.Worker.resource_id == row.id
        )
    ).first()
    if tracked is None:
        return True
    statuses = {m.status for m in _member_rows(session, row.id)}
    status = row.status
    if row.status == "creating" and statuses <= {"available"}:
        status = "available"
    elif row.status == "creating" and "error" in statuses and "creating" not in statuses:
        status = "error"
    elif row.status == "deleting" and not statuses:
        workers.finish(session, KIND, row.id)
        session.delete(row)
        return False
    elif row.status == "deleting" and "error_deleting" in statuses and "deleting" not in statuses:
        status = "error_deleting"
    if status != row.status:
        row.status = status
        row.updated_at = utcnow()
        workers.finish(session, KIND, row.id)
    return True


def _row(session: Session, ctx: RequestContext, group_snapshot_id: str) -> models.GroupSnapshot:
    row = session.get(models.GroupSnapshot, group_snapshot_id)
    if row is None or (not ctx.is_admin and row.project_id != ctx.project_id):
        raise exception.GroupSnapshotNotFound(group_snapshot_id=group_snapshot_id)
    return row


def get(deps: Deps, ctx: RequestContext, group_snapshot_id: str, rule: str) -> GroupSnapshotRecord:
    def tx(session: Session) -> GroupSnapshotRecord | None:
        row = _row(session, ctx, group_snapshot_id)
        ctx.can(rule, {"project_id": row.project_id})
        return _record(row) if _settle(session, row) else None

    found = deps.db.write(tx)
    if found is None:  # gone with its last member (the settling is committed)
        raise exception.GroupSnapshotNotFound(group_snapshot_id=group_snapshot_id)
    return found


def list_group_snapshots(
    deps: Deps, ctx: RequestContext, all_projects: bool, filters: dict[str, str]
) -> list[GroupSnapshotRecord]:
    def tx(session: Session) -> list[GroupSnapshotRecord]:
        query = select(models.GroupSnapshot).order_by(
            models.GroupSnapshot.created_at.desc(), models.GroupSnapshot.id.desc()
        )
        if not (all_projects and ctx.is_admin):
            query = query.where(models.GroupSnapshot.project_id == (ctx.project_id or ""))
        for key in ("status", "group_id", "name"):
            if key in filters:
                query = query.where(getattr(models.GroupSnapshot, key) == filters[key])
        return [_record(row) for row in session.scalars(query) if _settle(session, row)]

    return deps.db.write(tx)


def members(deps: Deps, group_snapshot_id: str) -> list[tuple[str, str, int, str | None]]:
    """(snapshot id, volume id, size, volume type id) of each member."""
    with deps.db.reader() as session:
        return [
            (m.id, m.volume_id, m.volume_size, m.volume_type_id)
            for m in _member_rows(session, group_snapshot_id)
        ]


def _group(session: Session, ctx: RequestContext, group_id: str) -> models.Group:
    group = session.get(models.Group, group_id)
    if group is None or (not ctx.is_admin and group.project_id != ctx.project_id):
        raise exception.GroupNotFound(group_id=group_id)
    return group


def create(
    deps: Deps, ctx: RequestContext, group_id: str, name: str | None, description: str | None
) -> GroupSnapshotRecord:
    group_snapshot_id = str(uuid.uuid4())
    project_id = ctx.project_id or ""

    def tx(session: Session) -> tuple[GroupSnapshotRecord, list[tuple[str, SnapshotRequest]]]:
        group = _group(session, ctx, group_id)
        if group.status != "available":
            raise exception.InvalidGroup(
                reason=f"Group status must be available, but current status is: {group.status}."
            )
        volumes = list(
            session.scalars(select(models.Volume).where(models.Volume.group_id == group_id))
        )
        now = utcnow()
        row = models.GroupSnapshot(
            id=group_snapshot_id, group_id=group_id, project_id=project_id,
            user_id=ctx.user_id or "", name=name, description=description,
            status="creating" if volumes else "available", group_type_id=group.group_type_id,
            created_at=now,
        )  # fmt: skip
        session.add(row)
        casts = []
        for volume in volumes:
            snapshots.check_volume(volume, allow_in_use=True)
            assert volume.host is not None
            kind = snapshots.type_name(session, volume.volume_type_id)
            quotas.consume(session, deps.opts, project_id, snapshots.deltas(volume.size, kind))
            snapshot_id = str(uuid.uuid4())
            session.add(
                models.Snapshot(
                    id=snapshot_id, volume_id=volume.id, project_id=project_id,
                    user_id=ctx.user_id or "", status="creating", progress="0%",
                    volume_size=volume.size, display_name=f"snapshot-{snapshot_id}",
                    volume_type_id=volume.volume_type_id, group_snapshot_id=group_snapshot_id,
                    encryption_key_id=volume.encryption_key_id, use_quota=True, created_at=now,
                )
            )  # fmt: skip
            workers.begin(session, "Snapshot", snapshot_id, "creating", "create", volume.host)
            casts.append(
                (volume.host, SnapshotRequest(snapshot_id=snapshot_id, volume_id=volume.id))
            )
        session.flush()
        if volumes:
            workers.begin(session, KIND, group_snapshot_id, "creating", "create", None)
        return _record(row), casts

    found, casts = deps.db.write(tx)
    call = CallContext.from_request(ctx)
    for host, request in casts:
        deps.volumes.create_snapshot(call, host, request)
    return found


def delete(deps: Deps, ctx: RequestContext, group_snapshot_id: str, rule: str) -> None:
    def tx(session: Session) -> list[tuple[str, SnapshotRequest]]:
        row = _row(session, ctx, group_snapshot_id)
        ctx.can(rule, {"project_id": row.project_id})
        _settle(session, row)
        if row.status not in ("available", "error"):
            raise exception.InvalidGroupSnapshot(
                reason="Group snapshot status must be available or error and no volume in "
                f"the group may be in a transition; it is {row.status}."
            )
        row.status = "deleting"
        row.updated_at = utcnow()
        casts = []
        for snap in _member_rows(session, group_snapshot_id):
            volume = session.get(models.Volume, snap.volume_id)
            snap.status = "deleting"
            snap.updated_at = utcnow()
            host = volume.host if volume is not None else None
            workers.begin(session, "Snapshot", snap.id, "deleting", "delete", host)
            if host:
                casts.append((host, SnapshotRequest(snapshot_id=snap.id, volume_id=snap.volume_id)))
        workers.begin(session, KIND, group_snapshot_id, "deleting", "delete", None)
        if not casts and not _member_rows(session, group_snapshot_id):
            workers.finish(session, KIND, group_snapshot_id)
            session.delete(row)
        return casts

    casts = deps.db.write(tx)
    call = CallContext.from_request(ctx)
    for host, request in casts:
        deps.volumes.delete_snapshot(call, host, request)


def reset_status(
    deps: Deps, ctx: RequestContext, group_snapshot_id: str, status: str, rule: str
) -> None:
    if status not in STATUSES:
        raise exception.InvalidGroupSnapshotStatus(
            reason=f"Group snapshot status {status} is invalid."
        )

    def tx(session: Session) -> None:
        row = _row(session, ctx, group_snapshot_id)
        ctx.can(rule, {"project_id": row.project_id})
        row.status = status
        row.updated_at = utcnow()
        workers.finish(session, KIND, group_snapshot_id)

    deps.db.write(tx)
