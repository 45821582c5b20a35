"""Manageable snapshots (3.8): list the snapshot data a backend holds, adopt one as a
snapshot of a volume (``os-snapshot-manage``), and let a snapshot go without deleting
its data (the ``os-unmanage`` snapshot action).

Managing writes the snapshot in ``creating`` with its quota consumed (as a create does)
and a ``manage`` operation record, then calls the volume's manager, which asks the
driver to adopt the reference: the snapshot becomes ``available``, or — the reference
names nothing the driver can adopt — the row and its quota go and the request fails
with upstream's ``ManageExistingInvalidReference``. Unmanaging puts the snapshot in
``unmanaging`` (record ``unmanage``); the manager has the driver keep the data out of
its managed names and the row goes as a delete's does (its quota released). A restart
replays both from their records (``manager/snapshots.py``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models
from tinystack.volume.payloads import ManageableEntry, SnapshotManageSpec, SnapshotRequest
from tinystack.volume.services import _rows, manageable, quotas, snapshots, workers
from tinystack.volume.services._protection_rows import snapshot_target, visible_snapshot_row
from tinystack.volume.services.deps import Deps
from tinystack.volume.services.snapshots import SnapshotRecord

__all__ = ["SnapshotManageRequest", "listing", "manage", "unmanage"]

#: the statuses a snapshot can be unmanaged from (as a delete)
UNMANAGEABLE = ("available", "error")


@dataclass(frozen=True, slots=True)
class SnapshotManageRequest:
    volume_id: str
    reference: dict[str, str]
    name: str | None = None
    description: str | None = None
    metadata: tuple[tuple[str, str], ...] = ()


def _with_sources(session: Session, found: list[ManageableEntry]) -> list[ManageableEntry]:
    """Managed entries name their snapshot's volume (by its backend name)."""
    ids = [e.cinder_id for e in found if e.cinder_id]
    rows = session.execute(
        select(models.Snapshot.id, models.Volume.id, models.Volume.provider_location)
        .join(models.Volume, models.Volume.id == models.Snapshot.volume_id)
        .where(models.Snapshot.id.in_(ids))
    ).all()
    sources = {snap: location or f"volume-{volume}" for snap, volume, location in rows}
    return [
        replace(e, source_reference={"source-name": sources[e.cinder_id]})
        if e.cinder_id in sources
        else e
        for e in found
    ]


def listing(
    deps: Deps, ctx: RequestContext, host: str, page: manageable.ManageablePage
) -> list[ManageableEntry]:
    """The snapshot data of the backend of ``host`` (the driver's list), paged."""
    with deps.db.reader() as session:
        backend = manageable.backend_host(session, deps, host)
    found = deps.volumes.get_manageable_snapshots(CallContext.from_request(ctx), backend)
    with deps.db.reader() as session:
        found = _with_sources(session, found)
    return manageable.paged(found, page)


def manage(deps: Deps, ctx: RequestContext, req: SnapshotManageRequest) -> SnapshotRecord:
    """Adopt ``req.reference`` as a new snapshot of ``req.volume_id``."""
    snapshot_id = str(uuid.uuid4())
    project_id = ctx.project_id or ""

    def tx(session: Session) -> str:
        volume = _rows.visible_volume_row(session, ctx, req.volume_id, lock=True)
        if not volume.host:
            raise exception.InvalidVolume(reason="Volume is not on a backend.")
        manageable.backend_host(session, deps, volume.host)
        kind = snapshots.type_name(session, volume.volume_type_id)
        quotas.consume(session, deps.opts, project_id, snapshots.deltas(volume.size, kind))
        session.add(
            models.Snapshot(
                id=snapshot_id, volume_id=volume.id, project_id=project_id,
                user_id=ctx.user_id or "", status="creating", progress="0%",
                volume_size=volume.size, display_name=req.name,
                display_description=req.description, volume_type_id=volume.volume_type_id,
                encryption_key_id=volume.encryption_key_id, use_quota=True,
                created_at=utcnow(),
            )
        )  # fmt: skip
        session.flush()
        for key, value in req.metadata:
            session.add(models.SnapshotMetadata(snapshot_id=snapshot_id, key=key, value=value))
        reference: dict[str, JSON] = dict(req.reference)
        args: dict[str, JSON] = {"reference": reference, "volume_id": volume.id}
        workers.begin(session, "Snapshot", snapshot_id, "creating", "manage", volume.host, args)
        return volume.host

    host = deps.db.write(tx)
    spec = SnapshotManageSpec(
        snapshot_id=snapshot_id, volume_id=req.volume_id, reference=dict(req.reference)
    )
    error = deps.volumes.manage_existing_snapshot(CallContext.from_request(ctx), host, spec)
    if error is not None:
        raise exception.ManageExistingInvalidReference(
            existing_ref=dict(req.reference), reason=error
        )
    with deps.db.reader() as session:
        found = session.get(models.Snapshot, snapshot_id)
        if found is None:  # deleted meanwhile
            raise exception.SnapshotNotFound(snapshot_id=snapshot_id)
        return snapshots.records(session, [found])[0]


def unmanage(deps: Deps, ctx: RequestContext, snapshot_id: str, rule: str) -> None:
    """Stop managing the snapshot: the manager keeps its data on the backend."""

    def tx(session: Session) -> tuple[str, str]:
        found = visible_snapshot_row(session, ctx, snapshot_id, lock=True)
        ctx.can(rule, snapshot_target(found))
        if found.group_snapshot_id or found.status not in UNMANAGEABLE:
            raise exception.InvalidSnapshot(
                reason=f"Snapshot status must be {' or '.join(UNMANAGEABLE)} and must not "
                "be part of a group."
            )
        volume = session.get(models.Volume, found.volume_id)
        if volume is None or not volume.host:
            raise exception.InvalidSnapshot(reason="Its volume is not on a backend.")
        found.status = "unmanaging"
        found.updated_at = utcnow()
        workers.begin(session, "Snapshot", snapshot_id, "unmanaging", "unmanage", volume.host)
        return volume.host, found.volume_id

    host, volume_id = deps.db.write(tx)
    event = deps.watch(snapshot_id)
    request = SnapshotRequest(snapshot_id=snapshot_id, volume_id=volume_id)
    deps.volumes.unmanage_snapshot(CallContext.from_request(ctx), host, request)
    deps.settle(snapshot_id, event)
