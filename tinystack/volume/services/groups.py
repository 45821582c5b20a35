"""Generic volume groups (3.13): a set of volumes of the group's volume types on one
backend; create (and from a source group, 3.14), update (name, description, add and
remove volumes), delete (with its volumes), reset status (3.20).

A generic group holds no data of its own on the backend: the scheduler chooses the
backend that can host every volume type of the group and the group is ``available``;
volumes created in it go to that backend.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.db import Database
from tinystack.common.rpc.context import CallContext
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models
from tinystack.volume.payloads import GroupSpec
from tinystack.volume.services import _rows, quotas, volume_types, volumes, workers
from tinystack.volume.services.deps import Deps
from tinystack.volume.services.records import GroupRecord

STATUSES = ("creating", "available", "deleting", "error", "error_deleting", "updating", "in-use")


@dataclass(frozen=True, slots=True)
class GroupCreate:
    group_type: str
    volume_types: tuple[str, ...]
    name: str | None = None
    description: str | None = None
    availability_zone: str | None = None


@dataclass(frozen=True, slots=True)
class GroupUpdate:
    name: str | None = None
    description: str | None = None
    add_volumes: tuple[str, ...] = ()
    remove_volumes: tuple[str, ...] = ()


def _record(session: Session, row: models.Group) -> GroupRecord:
    type_ids = tuple(
        session.scalars(
            select(models.GroupVolumeTypeMapping.volume_type_id).where(
                models.GroupVolumeTypeMapping.group_id == row.id
            )
        )
    )
    volume_ids = tuple(
        session.scalars(select(models.Volume.id).where(models.Volume.group_id == row.id))
    )
    return GroupRecord(
        id=row.id,
        project_id=row.project_id,
        user_id=row.user_id,
        name=row.name,
        description=row.description,
        status=row.status,
        host=row.host,
        availability_zone=row.availability_zone,
        group_type_id=row.group_type_id,
        volume_type_ids=type_ids,
        volume_ids=volume_ids,
        group_snapshot_id=row.group_snapshot_id,
        source_group_id=row.source_group_id,
        replication_status=row.replication_status,
        created_at=row.created_at,
    )


def _row(
    session: Session, ctx: RequestContext, group_id: str, *, lock: bool = False
) -> models.Group:
    query = select(models.Group).where(models.Group.id == group_id)
    if lock:
        query = query.with_for_update()
    row = session.scalars(query).first()
    if row is None or (not ctx.is_admin and row.project_id != ctx.project_id):
        raise exception.GroupNotFound(group_id=group_id)
    return row


def get(db: Database, ctx: RequestContext, group_id: str, rule: str) -> GroupRecord:
    with db.reader() as session:
        row = _row(session, ctx, group_id)
        ctx.can(rule, {"project_id": row.project_id})
        return _record(session, row)


def list_groups(
    db: Database,
    project_id: str | None,
    *,
    filters: dict[str, str],
    sort: list[tuple[str, str]],
    limit: int | None,
    marker: str | None,
    offset: int = 0,
) -> list[GroupRecord]:
    with db.reader() as session:
        query = select(models.Group)
        if project_id is not None:
            query = query.where(models.Group.project_id == project_id)
        for key in ("name", "status", "availability_zone", "group_type_id"):
            if key in filters:
                query = query.where(getattr(models.Group, key) == filters[key])
        rows = list(session.scalars(query))
        for key, direction in reversed(sort):
            if key not in ("id", "name", "status", "created_at", "availability_zone"):
                raise exception.InvalidInput(reason=f"Invalid sort key {key}")
            rows.sort(key=lambda r, k=key: str(getattr(r, k) or ""), reverse=direction == "desc")  # type: ignore[misc]
        if marker is not None:
            ids = [r.id for r in rows]
            if marker not in ids:
                raise exception.NotFound(f"Marker {marker} could not be found.")
            rows = rows[ids.index(marker) + 1 :]
        rows = rows[offset:]
        if limit is not None:
            rows = rows[:limit]
        return [_record(session, r) for r in rows]


# -- create -------------------------------------------------------------------------------------
def _new_group(
    session: Session,
    deps: Deps,
    ctx: RequestContext,
    group_type_id: str,
    type_rows: list[models.VolumeType],
    name: str | None,
    description: str | None,
    zone: str,
    source_group_id: str | None = None,
) -> tuple[str, GroupSpec]:
    quotas.consume(session, deps.opts, ctx.project_id or "", {"groups": 1})
    group_id = str(uuid.uuid4())
    session.add(
        models.Group(
            id=group_id,
            project_id=ctx.project_id or "",
            user_id=ctx.user_id or "",
            name=name,
            description=description,
            availability_zone=zone,
            group_type_id=group_type_id,
            status="creating",
            source_group_id=source_group_id,
            created_at=utcnow(),
        )
    )
    session.flush()
    for vtype in type_rows:
        session.add(models.GroupVolumeTypeMapping(group_id=group_id, volume_type_id=vtype.id))
    workers.begin(session, "Group", group_id, "creating", "schedule", None)
    specs = volume_types.specs_of(session, [t.id for t in type_rows])
    return group_id, GroupSpec(group_id, zone, tuple(specs[t.id] for t in type_rows))


def create(deps: Deps, ctx: RequestContext, req: GroupCreate) -> GroupRecord:
    viewer = _rows.Viewer(ctx.project_id, ctx.is_admin)

    def tx(session: Session) -> tuple[str, GroupSpec]:
        gtype = (
            session.get(models.GroupType, req.group_type)
            or session.scalars(
                select(models.GroupType).where(models.GroupType.name == req.group_type)
            ).first()
        )
        if gtype is None:
            raise exception.GroupTypeNotFound(group_type_id=req.group_type)
        type_rows = [_rows.find_type_row(session, t, viewer) for t in req.volume_types]
        zone = req.availability_zone or deps.opts.zone
        if zone not in volumes.zones(session, deps.opts.zone):
            raise exception.InvalidAvailabilityZone(az=zone)
        return _new_group(session, deps, ctx, gtype.id, type_rows, req.name, req.description, zone)

    group_id, spec = deps.db.write(tx)
    event = deps.watch(group_id)
    deps.scheduler.create_group(CallContext.from_request(ctx), spec)
    deps.settle(group_id, event)
    with deps.db.reader() as session:
        return _record(session, session.get(models.Group, group_id) or _missing(group_id))


def _missing(group_id: str) -> models.Group:
    raise exception.GroupNotFound(group_id=group_id)


def _source(
    session: Session,
    ctx: RequestContext,
    source_group_id: str | None,
    group_snapshot_id: str | None,
) -> tuple[models.Group, list[tuple[int, str | None, str, str | None]]]:
    """The source group and what each new volume is made from: (size, name, source
    volume or snapshot id, type id)."""
    if group_snapshot_id is not None:
        snap = session.get(models.GroupSnapshot, group_snapshot_id)
        if snap is None or (not ctx.is_admin and snap.project_id != ctx.project_id):
            raise exception.GroupSnapshotNotFound(group_snapshot_id=group_snapshot_id)
        if snap.status != "available":
            raise exception.InvalidGroupSnapshot(
                reason=f"Group snapshot {group_snapshot_id} status must be available."
            )
        source = session.get(models.Group, snap.group_id) or _missing(snap.group_id)
        members = session.scalars(
            select(models.Snapshot).where(models.Snapshot.group_snapshot_id == group_snapshot_id)
        )
        return source, [(m.volume_size, None, m.id, m.volume_type_id) for m in members]
    assert source_group_id is not None
    source = _row(session, ctx, source_group_id)
    if source.status not in ("available", "in-use"):
        raise exception.InvalidGroup(
            reason=f"Source group {source_group_id} status must be available or in-use"
        )
    volumes = session.scalars(select(models.Volume).where(models.Volume.group_id == source.id))
    return source, [(v.size, v.display_name, v.id, v.volume_type_id) for v in volumes]


def create_from_source(
    deps: Deps,
    ctx: RequestContext,
    source_group_id: str | None,
    name: str | None,
    description: str | None,
    group_snapshot_id: str | None = None,
) -> GroupRecord:
    """A group like the source group whose volumes are clones of the source's volumes,
    or (``group_snapshot_id``) volumes from the group snapshot's snapshots."""

    def tx(
        session: Session,
    ) -> tuple[str, GroupSpec, list[tuple[int, str | None, str, str | None]]]:
        source, members = _source(session, ctx, source_group_id, group_snapshot_id)
        type_ids = session.scalars(
            select(models.GroupVolumeTypeMapping.volume_type_id).where(
                models.GroupVolumeTypeMapping.group_id == source.id
            )
        )
        type_rows = [t for t in (session.get(models.VolumeType, i) for i in type_ids) if t]
        group_id, spec = _new_group(
            session, deps, ctx, source.group_type_id, type_rows, name, description,
            source.availability_zone or deps.opts.zone, source_group_id,
        )  # fmt: skip
        group = session.get(models.Group, group_id)
        assert group is not None
        group.host = source.host
        group.group_snapshot_id = group_snapshot_id
        return group_id, spec, members

    group_id, spec, members = deps.db.write(tx)
    deps.scheduler.create_group(CallContext.from_request(ctx), spec)
    for size, member_name, source_id, type_id in members:
        from_snapshot = group_snapshot_id is not None
        volumes.create(
            deps, ctx,
            volumes.VolumeCreate(size=size, name=member_name, group_id=group_id,
                                 source_volid=None if from_snapshot else source_id,
                                 snapshot_id=source_id if from_snapshot else None,
                                 volume_type=type_id),
        )  # fmt: skip
    with deps.db.reader() as session:
        return _record(session, session.get(models.Group, group_id) or _missing(group_id))


# -- update, delete, reset ------------------------------------------------------------------------
def update(
    db: Database, ctx: RequestContext, group_id: str, changes: GroupUpdate, rule: str
) -> None:
    def tx(session: Session) -> None:
        row = _row(session, ctx, group_id, lock=True)
        ctx.can(rule, {"project_id": row.project_id})
        if (changes.add_volumes or changes.remove_volumes) and row.status != "available":
            raise exception.InvalidGroup(
                reason=f"Group {group_id} status must be available, but current status is: "
                f"{row.status}."
            )
        if changes.name is not None:
            row.name = changes.name
        if changes.description is not None:
            row.description = changes.description
        allowed = set(
            session.scalars(
                select(models.GroupVolumeTypeMapping.volume_type_id).where(
                    models.GroupVolumeTypeMapping.group_id == group_id
                )
            )
        )
        for volume_id in changes.add_volumes:
            vol = _rows.visible_volume_row(session, ctx, volume_id, lock=True)
            if vol.group_id or vol.status not in ("available", "in-use"):
                raise exception.InvalidVolume(
                    reason=f"Volume {volume_id} cannot be added to group {group_id}: it is "
                    f"{vol.status} or in another group."
                )
            if vol.volume_type_id not in allowed:
                raise exception.InvalidVolume(
                    reason=f"Volume {volume_id}'s type is not one of group {group_id}'s."
                )
            if row.host and (vol.host or "").partition("#")[0] != row.host.partition("#")[0]:
                raise exception.InvalidVolume(
                    reason=f"Volume {volume_id} is not on group {group_id}'s backend."
                )
            vol.group_id = group_id
        for volume_id in changes.remove_volumes:
            vol = _rows.visible_volume_row(session, ctx, volume_id, lock=True)
            if vol.group_id != group_id:
                raise exception.InvalidVolume(
                    reason=f"Volume {volume_id} is not in group {group_id}."
                )
            vol.group_id = None
        row.updated_at = utcnow()

    db.write(tx)


def delete(deps: Deps, ctx: RequestContext, group_id: str, delete_volumes: bool, rule: str) -> None:
    """Delete the group (``delete_volumes``: and its volumes; else it must be empty)."""

    def tx(session: Session) -> list[tuple[str, str]]:
        row = _row(session, ctx, group_id, lock=True)
        ctx.can(rule, {"project_id": row.project_id})
        members = list(
            session.scalars(select(models.Volume).where(models.Volume.group_id == group_id))
        )
        if not delete_volumes and row.status not in ("available", "error"):
            raise exception.InvalidGroup(
                reason=f"Group status must be available or error, but current status is: "
                f"{row.status}"
            )
        if members and not delete_volumes:
            raise exception.InvalidGroup(
                reason=f"Group {group_id} still contains volumes. The delete-volumes flag is "
                "required to delete it."
            )
        held = session.scalars(
            select(models.GroupSnapshot.id).where(models.GroupSnapshot.group_id == group_id)
        ).first()
        if held is not None:
            raise exception.InvalidGroup(
                reason=f"Group {group_id} still has dependent group snapshots."
            )
        casts: list[tuple[str, str]] = []
        for vol in members:
            if vol.attach_status == "attached":
                raise exception.InvalidGroup(reason=f"Volume in group {group_id} is attached.")
            snaps = session.scalar(
                select(func.count())
                .select_from(models.Snapshot)
                .where(models.Snapshot.volume_id == vol.id)
            )
            if snaps:
                raise exception.InvalidGroup(
                    reason="Volume in group still has dependent snapshots."
                )
        for vol in members:
            if vol.host:
                vol.status = "deleting"
                vol.terminated_at = utcnow()
                workers.begin(session, "Volume", vol.id, "deleting", "delete", vol.host)
                casts.append((vol.host, vol.id))
            else:
                volumes.forget_unscheduled(session, vol)
        row.status = "deleting"
        row.updated_at = utcnow()
        if not casts:
            forget(session, row)
        return casts

    casts = deps.db.write(tx)
    call = CallContext.from_request(ctx)
    for host, volume_id in casts:
        deps.volumes.delete_volume(call, host, volume_id)


def forget(session: Session, row: models.Group) -> None:
    """The group goes (its quota too) once it is ``deleting`` and holds no volume."""
    quotas.release(session, row.project_id, {"groups": 1})
    workers.finish(session, "Group", row.id)
    session.delete(row)


def reset_status(db: Database, ctx: RequestContext, group_id: str, status: str, rule: str) -> None:
    if status.lower() not in STATUSES:
        raise exception.InvalidGroup(
            reason=f"Group status: {status} is invalid, valid statuses are: {', '.join(STATUSES)}."
        )

    def tx(session: Session) -> None:
        row = _row(session, ctx, group_id, lock=True)
        ctx.can(rule, {"project_id": row.project_id})
        row.status = status.lower()
        row.updated_at = utcnow()
        workers.finish(session, "Group", group_id)

    db.write(tx)


def spec_of(db: Database, group_id: str) -> GroupSpec | None:
    """The :class:`GroupSpec` of a group still waiting for its backend (recovery)."""
    with db.reader() as session:
        row = session.get(models.Group, group_id)
        if row is None:
            return None
        type_ids = list(
            session.scalars(
                select(models.GroupVolumeTypeMapping.volume_type_id).where(
                    models.GroupVolumeTypeMapping.group_id == group_id
                )
            )
        )
        specs = volume_types.specs_of(session, type_ids)
        return GroupSpec(group_id, row.availability_zone, tuple(specs[t] for t in type_ids))
