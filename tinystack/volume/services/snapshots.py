"""Snapshots: create (also of in-use volumes: ``force``, or from 3.66 always), list,
show, update, delete, the admin and status actions, and reverting a volume to its
latest snapshot (3.40). Metadata is ``snapshot_metadata.py``.

A create checks the volume and the quota (``snapshots``, ``gigabytes`` and their
per-type resources) and writes the row in ``creating`` with a ``workers`` entry in one
transaction, then casts to the volume's manager (``manager/snapshots.py``), which runs
the driver and settles the snapshot in ``available`` or ``error``. A delete moves it to
``deleting`` and casts; the manager removes the data, the row and the quota usage.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.db import Database
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models
from tinystack.volume.payloads import SnapshotRequest
from tinystack.volume.services import _rows, listing, quotas, workers
from tinystack.volume.services._protection_rows import (
    authorized_snapshot_row,
    snapshot_row,
    snapshot_target,
    visible_snapshot_row,
)
from tinystack.volume.services.deps import Deps

GET = "volume:get_snapshot"
#: statuses a snapshot may be deleted in without force
DELETABLE = ("available", "error")
#: every snapshot status (os-reset_status accepts these)
STATUSES = ("creating", "available", "deleting", "error", "error_deleting", "unmanaging",
            "backing-up", "restoring")  # fmt: skip


@dataclass(frozen=True, slots=True)
class SnapshotRecord:
    id: str
    volume_id: str
    project_id: str
    user_id: str
    status: str
    progress: str | None
    volume_size: int
    name: str | None
    description: str | None
    volume_type_id: str | None
    group_snapshot_id: str | None
    use_quota: bool
    encryption_key_id: str | None
    created_at: datetime
    updated_at: datetime | None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SnapshotCreate:
    volume_id: str
    name: str | None = None
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    #: snapshot an in-use volume (``force``, or any request from 3.66)
    allow_in_use: bool = False


@dataclass(frozen=True, slots=True)
class SnapshotUpdate:
    name: str | None = None
    description: str | None = None
    set_name: bool = False
    set_description: bool = False


def records(session: Session, rows: list[models.Snapshot]) -> list[SnapshotRecord]:
    ids = [row.id for row in rows]
    meta: dict[str, dict[str, str]] = {i: {} for i in ids}
    if ids:
        for sid, key, value in session.execute(
            select(models.SnapshotMetadata.snapshot_id, models.SnapshotMetadata.key,
                   models.SnapshotMetadata.value)
            .where(models.SnapshotMetadata.snapshot_id.in_(ids))
        ):  # fmt: skip
            meta[sid][key] = value
    return [
        SnapshotRecord(
            id=row.id,
            volume_id=row.volume_id,
            project_id=row.project_id,
            user_id=row.user_id,
            status=row.status,
            progress=row.progress,
            volume_size=row.volume_size,
            name=row.display_name,
            description=row.display_description,
            volume_type_id=row.volume_type_id,
            group_snapshot_id=row.group_snapshot_id,
            use_quota=row.use_quota,
            encryption_key_id=row.encryption_key_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
            metadata=meta[row.id],
        )
        for row in rows
    ]


def deltas(size: int, type_name: str | None, sign: int = 1) -> dict[str, int]:
    """What a snapshot of a ``size`` GiB volume of ``type_name`` counts against."""
    found = {"snapshots": sign, "gigabytes": sign * size}
    if type_name:
        found[f"snapshots_{type_name}"] = sign
        found[f"gigabytes_{type_name}"] = sign * size
    return found


def type_name(session: Session, type_id: str | None) -> str | None:
    if not type_id:
        return None
    found = session.get(models.VolumeType, type_id)
    return found.name if found is not None else None


# -- reads ------------------------------------------------------------------------------------
def get(db: Database, ctx: RequestContext, snapshot_id: str, rule: str = GET) -> SnapshotRecord:
    with db.reader() as session:
        return records(session, [authorized_snapshot_row(session, ctx, snapshot_id, rule)])[0]


def _not_found(marker: str) -> Exception:
    return exception.SnapshotNotFound(snapshot_id=marker)


def _in_zone(query: Select[Any], zone: str) -> Select[Any]:
    volumes = select(models.Volume.id).where(models.Volume.availability_zone == zone)
    return query.where(models.Snapshot.volume_id.in_(volumes))


TABLE = listing.Table(
    model=models.Snapshot,
    not_found=_not_found,
    special={"availability_zone": _in_zone},
    metadata=(models.SnapshotMetadata, "snapshot_id"),
    sort_aliases={"name": "display_name"},
)


def list_snapshots(
    db: Database, ctx: RequestContext, wanted: listing.ListQuery
) -> tuple[list[SnapshotRecord], int | None]:
    """The page of snapshots the caller may see, and the total count when asked."""
    with db.reader() as session:
        query = select(models.Snapshot)
        if not wanted.all_tenants:
            query = query.where(models.Snapshot.project_id == (ctx.project_id or ""))
        rows = listing.page(session, query, TABLE, wanted)
        total = listing.count(session, query, TABLE, wanted) if wanted.with_count else None
        return records(session, rows), total


# -- create -----------------------------------------------------------------------------------
def _check_volume(volume: models.Volume, allow_in_use: bool) -> None:
    if not volume.host:
        raise exception.InvalidVolume(
            reason="The snapshot cannot be created because volume has not been scheduled "
            "to any host."
        )
    if volume.status == "maintenance":
        raise exception.InvalidVolume(
            reason="The snapshot cannot be created when the volume is in maintenance mode."
        )
    if volume.migration_status not in (None, "deleting", "error", "success"):
        raise exception.InvalidVolume(
            reason="Snapshot cannot be created while volume is migrating."
        )
    if volume.status == "error":
        raise exception.InvalidVolume(
            reason="The snapshot cannot be created when the volume is in error status."
        )
    valid = ("available", "in-use") if allow_in_use else ("available",)
    if volume.status not in valid:
        raise exception.InvalidVolume(
            reason=f"Volume {volume.id} status must be {', '.join(valid)}, but current "
            f"status is: {volume.status}."
        )


#: the checks a volume passes before it is snapshotted (group snapshots too)
check_volume = _check_volume


def create(deps: Deps, ctx: RequestContext, req: SnapshotCreate) -> SnapshotRecord:
    """Write the snapshot in ``creating`` (quota consumed) and cast it to the volume's
    manager; lingers up to ``api_settle_seconds`` for a manager in this process."""
    snapshot_id = str(uuid.uuid4())
    project_id = ctx.project_id or ""

    def tx(session: Session) -> str:
        volume = _rows.visible_volume_row(session, ctx, req.volume_id, lock=True)
        _rows.authorize_volume(ctx, "volume:create_snapshot", volume)
        _check_volume(volume, req.allow_in_use)
        assert volume.host is not None
        quotas.consume(
            session, deps.opts, project_id,
            deltas(volume.size, type_name(session, volume.volume_type_id)),
        )  # fmt: skip
        session.add(
            models.Snapshot(
                id=snapshot_id,
                volume_id=volume.id,
                project_id=project_id,
                user_id=ctx.user_id or "",
                status="creating",
                progress="0%",
                volume_size=volume.size,
                display_name=req.name,
                display_description=req.description,
                volume_type_id=volume.volume_type_id,
                encryption_key_id=volume.encryption_key_id,
                use_quota=True,
                created_at=utcnow(),
            )
        )
        session.flush()
        for key, value in req.metadata.items():
            session.add(models.SnapshotMetadata(snapshot_id=snapshot_id, key=key, value=value))
        workers.begin(session, "Snapshot", snapshot_id, "creating", "create", volume.host)
        return volume.host

    host = deps.db.write(tx)
    event = deps.watch(snapshot_id)
    request = SnapshotRequest(snapshot_id=snapshot_id, volume_id=req.volume_id)
    deps.volumes.create_snapshot(CallContext.from_request(ctx), host, request)
    deps.settle(snapshot_id, event)
    with deps.db.reader() as session:
        found = session.get(models.Snapshot, snapshot_id)
        if found is None:  # deleted meanwhile
            raise exception.SnapshotNotFound(snapshot_id=snapshot_id)
        return records(session, [found])[0]


# -- update and delete ------------------------------------------------------------------------
def update(
    db: Database, ctx: RequestContext, snapshot_id: str, changes: SnapshotUpdate
) -> SnapshotRecord:
    def tx(session: Session) -> SnapshotRecord:
        found = authorized_snapshot_row(
            session, ctx, snapshot_id, "volume:update_snapshot", lock=True
        )
        if changes.set_name:
            found.display_name = changes.name
        if changes.set_description:
            found.display_description = changes.description
        found.updated_at = utcnow()
        session.flush()
        return records(session, [found])[0]

    return db.write(tx)


def delete(
    deps: Deps, ctx: RequestContext, snapshot_id: str, rule: str, *, force: bool = False
) -> None:
    """Move the snapshot to ``deleting`` and cast its deletion (``force``: whatever its
    status; ``rule`` is the policy checked on it)."""

    def tx(session: Session) -> tuple[str, str]:
        found = visible_snapshot_row(session, ctx, snapshot_id, lock=True)
        ctx.can("volume:delete_snapshot", snapshot_target(found))
        if rule != "volume:delete_snapshot":
            ctx.can(rule, snapshot_target(found))
        if found.group_snapshot_id or (not force and found.status not in DELETABLE):
            prefix = "" if force else f"status must be {' or '.join(DELETABLE)} and "
            raise exception.InvalidSnapshot(reason=f"Snapshot {prefix}must not be part of a group.")
        volume = session.get(models.Volume, found.volume_id)
        host = volume.host if volume is not None else None
        found.status = "deleting"
        found.updated_at = utcnow()
        workers.begin(session, "Snapshot", snapshot_id, "deleting", "delete", host)
        return host or "", found.volume_id

    host, volume_id = deps.db.write(tx)
    event = deps.watch(snapshot_id)
    request = SnapshotRequest(snapshot_id=snapshot_id, volume_id=volume_id)
    if host:
        deps.volumes.delete_snapshot(CallContext.from_request(ctx), host, request)
    else:  # its volume is gone or was never placed: nothing on a backend
        _forget(deps.db, snapshot_id)
    deps.settle(snapshot_id, event)


def _forget(db: Database, snapshot_id: str) -> None:
    """Remove a snapshot that has no data anywhere (and its quota usage)."""

    def tx(session: Session) -> None:
        found = session.get(models.Snapshot, snapshot_id)
        if found is None:
            return
        if found.use_quota:
            kind = type_name(session, found.volume_type_id)
            quotas.release(session, found.project_id, deltas(found.volume_size, kind))
        session.delete(found)
        workers.finish(session, "Snapshot", snapshot_id)

    db.write(tx)


# -- status actions ---------------------------------------------------------------------------
def reset_status(db: Database, ctx: RequestContext, snapshot_id: str, status: str) -> None:
    """Admin: set the status, whatever it was (the operation in flight is forgotten)."""

    def tx(session: Session) -> None:
        found = authorized_snapshot_row(
            session, ctx, snapshot_id,
            "volume_extension:snapshot_admin_actions:reset_status", lock=True,
        )  # fmt: skip
        found.status = status
        found.updated_at = utcnow()
        workers.finish(session, "Snapshot", snapshot_id)

    db.write(tx)


#: os-update_snapshot_status: from -> allowed new statuses
STATUS_MAP = {
    "creating": ("creating", "available", "error"),
    "deleting": ("deleting", "error_deleting"),
}


def update_status(
    db: Database, ctx: RequestContext, snapshot_id: str, status: str, progress: str | None
) -> None:
    """A driver outside (Nova's assisted snapshots) reports how a snapshot goes."""

    def tx(session: Session) -> None:
        found = snapshot_row(session, snapshot_id, lock=True)
        ctx.can(
            "snapshot_extension:snapshot_actions:update_snapshot_status",
            snapshot_target(found),
        )
        allowed = STATUS_MAP.get(found.status)
        if allowed is None:
            raise exception.Invalid(
                f"Snapshot status {found.status} not allowed for update_snapshot_status"
            )
        if status not in allowed:
            raise exception.Invalid(
                f"Provided snapshot status {status} not allowed for snapshot with status "
                f"{found.status}."
            )
        found.status = status
        if progress:
            found.progress = progress
        found.updated_at = utcnow()

    db.write(tx)


# -- revert (3.40) ----------------------------------------------------------------------------
def revert(deps: Deps, ctx: RequestContext, volume_id: str, snapshot_id: str | None) -> None:
    """``revert`` action: the volume back to its latest snapshot (both must be
    ``available``; they are ``reverting`` / ``restoring`` until the manager is done)."""

    def tx(session: Session) -> str:
        volume = _rows.visible_volume_row(session, ctx, volume_id, lock=True)
        _rows.authorize_volume(ctx, "volume:get", volume)
        latest = session.scalars(
            select(models.Snapshot)
            .where(models.Snapshot.volume_id == volume_id)
            .order_by(models.Snapshot.created_at.desc(), models.Snapshot.id.desc())
            .limit(1)
        ).first()
        if latest is None:
            raise exception.InvalidInput(reason=f"Volume {volume_id} doesn't have any snapshots.")
        if snapshot_id is None or snapshot_id != latest.id:
            raise exception.Invalid(
                f"Specified snapshot {snapshot_id} is None or not the latest one of volume "
                f"{volume_id}."
            )
        if volume.size != latest.volume_size:
            raise exception.Invalid(
                f"Can't revert volume {volume_id} to its latest snapshot {snapshot_id}. The "
                "volume size must be equal to the snapshot size."
            )
        _rows.authorize_volume(ctx, "volume:revert_to_snapshot", volume)
        if volume.status != "available":
            raise exception.Conflict(
                f"Invalid volume: Can't revert volume {volume_id} to its latest snapshot "
                f"{snapshot_id}. Volume's status must be 'available'."
            )
        if latest.status != "available":
            raise exception.Conflict(
                f"Invalid snapshot: Can't revert volume {volume_id} to its latest snapshot "
                f"{snapshot_id}. Snapshot's status must be 'available'."
            )
        assert volume.host is not None
        volume.status = "reverting"
        volume.updated_at = utcnow()
        latest.status = "restoring"
        latest.updated_at = utcnow()
        args: dict[str, JSON] = {"volume_id": volume_id}
        workers.begin(session, "Snapshot", latest.id, "restoring", "revert", volume.host, args)
        return volume.host

    host = deps.db.write(tx)
    event = deps.watch(volume_id)
    request = SnapshotRequest(snapshot_id=snapshot_id or "", volume_id=volume_id)
    deps.volumes.revert_to_snapshot(CallContext.from_request(ctx), host, request)
    deps.settle(volume_id, event)
