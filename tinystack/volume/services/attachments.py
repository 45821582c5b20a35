"""The attachments API (3.27+): reserve a volume for a server, connect it for a host,
complete, delete; lists and shows.

Create reserves the volume (``reserved``; a multiattach volume may also be ``in-use``)
with an attachment ``reserved`` in one transaction that locks the volume row, so two
racing reservations of a non-multiattach volume cannot both win. With a connector (at
create or by update) the volume's manager exports it through the driver (an RPC call:
the answer carries the connection info) and the attachment and the volume become
``attaching``; ``os-complete`` makes them ``attached`` and ``in-use``. Delete removes the
export on the manager (the attachment is ``detaching`` meanwhile, so a restart finishes
it) and the volume takes the status its remaining attachments give it.

Upstream answers 404 for another project's attachment (admins see every project's) and
checks no rule on reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models
from tinystack.volume.payloads import AttachmentConnect
from tinystack.volume.services import _attach_state as state
from tinystack.volume.services import _rows
from tinystack.volume.services.deps import Deps
from tinystack.volume.services.records import AttachmentRecord

CREATE = "volume:attachment_create"
UPDATE = "volume:attachment_update"
DELETE = "volume:attachment_delete"
COMPLETE = "volume:attachment_complete"
MULTIATTACH_BOOTABLE = "volume:multiattach_bootable_volume"

#: list sort keys -> columns
_SORT_KEYS = {
    "id": models.VolumeAttachment.id,
    "created_at": models.VolumeAttachment.created_at,
    "updated_at": models.VolumeAttachment.updated_at,
    "volume_id": models.VolumeAttachment.volume_id,
    "instance_uuid": models.VolumeAttachment.instance_uuid,
    "attach_status": models.VolumeAttachment.attach_status,
    "status": models.VolumeAttachment.attach_status,
    "attach_time": models.VolumeAttachment.attach_time,
}


record = _rows.attachment_record


def _scope(ctx: RequestContext) -> str | None:
    """The project whose attachments the caller sees (None: every project, an admin)."""
    return None if ctx.is_admin else ctx.project_id


def _target(volume: models.Volume) -> dict[str, object]:
    return {"project_id": volume.project_id, "user_id": volume.user_id}


# -- reads -----------------------------------------------------------------------------------
def get(deps: Deps, ctx: RequestContext, attachment_id: str) -> AttachmentRecord:
    with deps.db.reader() as session:
        return record(state.attachment_row(session, attachment_id, _scope(ctx)))


@dataclass(frozen=True, slots=True)
class AttachmentQuery:
    """A list request: filters (upstream's ``volume_id``, ``instance_id``, ``status`` /
    ``attach_status``), sort and paging."""

    all_projects: bool = False
    volume_id: str | None = None
    instance_id: str | None = None
    status: str | None = None
    sort: list[tuple[str, str]] = field(default_factory=lambda: [("created_at", "desc")])
    marker: str | None = None
    limit: int | None = None
    offset: int = 0


def list_attachments(deps: Deps, ctx: RequestContext, q: AttachmentQuery) -> list[AttachmentRecord]:
    query = select(models.VolumeAttachment)
    if not (ctx.is_admin and q.all_projects):
        query = query.join(models.Volume, models.Volume.id == models.VolumeAttachment.volume_id)
        query = query.where(models.Volume.project_id == ctx.project_id)
    if q.volume_id is not None:
        query = query.where(models.VolumeAttachment.volume_id == q.volume_id)
    if q.instance_id is not None:
        query = query.where(models.VolumeAttachment.instance_uuid == q.instance_id)
    if q.status is not None:
        query = query.where(models.VolumeAttachment.attach_status == q.status)
    keys = list(q.sort)
    if not any(key == "id" for key, _ in keys):
        keys.append(("id", keys[-1][1] if keys else "desc"))
    for key, direction in keys:
        column = _SORT_KEYS.get(key)
        if column is None:
            raise exception.InvalidInput(reason=f"Invalid sort key {key}")
        query = query.order_by(column.asc() if direction == "asc" else column.desc())
    with deps.db.reader() as session:
        rows = list(session.scalars(query))
    if q.marker is not None:
        ids = [row.id for row in rows]
        if q.marker not in ids:
            raise exception.NotFound(f"Marker {q.marker} could not be found.")
        rows = rows[ids.index(q.marker) + 1 :]
    rows = rows[q.offset :]
    if q.limit is not None:
        rows = rows[: q.limit]
    return [record(row) for row in rows]


# -- create ----------------------------------------------------------------------------------
def _reserve(
    session: Session,
    ctx: RequestContext,
    volume: models.Volume,
    instance_uuid: str | None,
    mode: str = "null",
) -> models.VolumeAttachment:
    """Upstream's ``_attachment_reserve``: the volume ``reserved`` and a ``reserved``
    attachment, or InvalidVolume (the volume row is locked by the caller)."""
    if volume.multiattach and volume.status == "in-use" and volume.bootable:
        ctx.can(MULTIATTACH_BOOTABLE, _target(volume))
    allowed = ("available", "in-use", "downloading") if volume.multiattach else (
        "available", "downloading")  # fmt: skip
    if volume.status in allowed:
        volume.status = state.RESERVED
        volume.updated_at = utcnow()
    elif not (
        instance_uuid
        and volume.status in ("in-use", state.RESERVED)
        and any(a.instance_uuid == instance_uuid for a in state.attachments_of(session, volume.id))
    ):
        # the same server reserving again is a move to another host (LP #1694530)
        raise exception.InvalidVolume(
            reason=f"Volume {volume.id} status must be {state.or_str(allowed)} to reserve, "
            f"but the current status is {volume.status}."
        )
    if state.readonly(session, volume.id):
        mode = "ro"
    return state.new_attachment(
        session, volume, status=state.RESERVED, instance_uuid=instance_uuid, mode=mode
    )


def create(
    deps: Deps,
    ctx: RequestContext,
    volume_id: str,
    instance_uuid: str | None,
    connector: dict[str, JSON] | None,
    mode: str | None,
) -> AttachmentRecord:
    """Reserve the volume for the server (with a connector: export it at once)."""

    def tx(session: Session) -> tuple[str, str | None]:
        volume = _rows.visible_volume_row(session, ctx, volume_id, lock=True)
        ctx.can(CREATE, _target(volume))
        if "error" in volume.status:
            raise exception.InvalidVolume(
                reason="Volume attachments can not be created if the volume is in an error "
                f"state. The Volume {volume.id} currently has a status of: {volume.status} "
            )
        row = _reserve(session, ctx, volume, instance_uuid, mode or "null")
        return row.id, volume.host

    attachment_id, host = deps.db.write(tx)
    if connector:
        try:
            connect(deps, ctx, attachment_id, volume_id, host, connector, mode)
        except Exception:
            _unreserve(deps, attachment_id)
            raise
    return get(deps, ctx, attachment_id)


def _unreserve(deps: Deps, attachment_id: str) -> None:
    """Undo a reservation whose export failed (nothing was exported)."""

    def tx(session: Session) -> None:
        row = session.get(models.VolumeAttachment, attachment_id)
        if row is None:
            return
        volume = session.get(models.Volume, row.volume_id, with_for_update=True)
        if volume is not None:
            state.remove(session, volume, attachment_id)

    deps.db.write(tx)


def connect(
    deps: Deps,
    ctx: RequestContext,
    attachment_id: str,
    volume_id: str,
    host: str | None,
    connector: dict[str, JSON],
    mode: str | None,
    *,
    legacy: bool = False,
) -> None:
    if not host:
        raise exception.InvalidVolume(reason=f"Volume {volume_id} is on no backend yet.")
    spec = AttachmentConnect(attachment_id, volume_id, dict(connector), mode, legacy=legacy)
    deps.volumes.attachment_update(CallContext.from_request(ctx), host, spec)


# -- update ----------------------------------------------------------------------------------
def update(
    deps: Deps, ctx: RequestContext, attachment_id: str, connector: dict[str, JSON]
) -> AttachmentRecord:
    """Export the volume for the connector's host (upstream's attachment_update)."""
    with deps.db.reader() as session:
        row = state.attachment_row(session, attachment_id, _scope(ctx))
        volume = _rows.visible_volume_row(session, ctx, row.volume_id)
        ctx.can(UPDATE, _target(volume))
        if "error" in volume.status:
            raise exception.ResourceConflict(
                reason="Volume attachments can not be updated if the volume is in an error "
                f"state. The Volume {volume.id} currently has a status of: {volume.status} "
            )
        others = [a for a in state.attachments_of(session, volume.id) if a.id != row.id]
        if others and not volume.multiattach:
            # as upstream: more than one attachment on different hosts is a server moving
            # (a live migration's destination connects while the source still is); two
            # connections from one host are not
            hosts = {a.attached_host for a in others if a.connection_info}
            if connector.get("host") in hosts:
                raise exception.ResourceConflict(
                    reason=f"duplicate connectors detected on volume {volume.id}"
                )
        mode = row.attach_mode if row.attach_mode in ("rw", "ro") else None
        volume_id, host = volume.id, volume.host
    connect(deps, ctx, attachment_id, volume_id, host, connector, mode)
    return get(deps, ctx, attachment_id)


# -- complete --------------------------------------------------------------------------------
def complete(deps: Deps, ctx: RequestContext, attachment_id: str) -> None:
    """``os-complete``: the attachment ``attached``, the volume ``in-use``."""

    def tx(session: Session) -> str:
        row = state.attachment_row(session, attachment_id, _scope(ctx), lock=True)
        volume = _rows.visible_volume_row(session, ctx, row.volume_id, lock=True)
        ctx.can(COMPLETE, _target(volume))
        row.attach_status = state.ATTACHED
        row.attach_time = row.attach_time or utcnow()
        row.updated_at = utcnow()
        state.settle(session, volume)
        return volume.id

    deps.changed(deps.db.write(tx))


# -- delete ----------------------------------------------------------------------------------
def delete(deps: Deps, ctx: RequestContext, attachment_id: str) -> list[AttachmentRecord]:
    """End the attachment; the volume's remaining attachments."""

    def begin(session: Session) -> tuple[str, str | None, str]:
        row = state.attachment_row(session, attachment_id, _scope(ctx), lock=True)
        volume = _rows.visible_volume_row(session, ctx, row.volume_id, lock=True)
        ctx.can(DELETE, _target(volume))
        previous = row.attach_status
        if row.connection_info is None or not volume.host:
            # never exported: nothing on the backend to remove
            state.remove(session, volume, row.id)
            return volume.id, None, previous
        row.attach_status = state.DETACHING
        row.updated_at = utcnow()
        return volume.id, volume.host, previous

    volume_id, host, previous = deps.db.write(begin)
    if host is not None:
        try:
            deps.volumes.attachment_delete(CallContext.from_request(ctx), host, attachment_id)
        except Exception:
            _restore(deps, attachment_id, previous)
            raise
    with deps.db.reader() as session:
        return [record(row) for row in state.attachments_of(session, volume_id)]


def _restore(deps: Deps, attachment_id: str, status: str) -> None:
    """The manager could not remove the export: the attachment is what it was."""

    def tx(session: Session) -> None:
        row = session.get(models.VolumeAttachment, attachment_id)
        if row is not None and row.attach_status == state.DETACHING:
            row.attach_status = status

    deps.db.write(tx)
