"""Manageable volumes (3.8): list what a backend holds that no volume claims, adopt one
as a new volume (``os-volume-manage``), and let a volume go without deleting its data
(``os-unmanage``).

Managing writes the volume in ``managing`` with a ``manage`` operation record and casts
to the backend's manager, which asks the driver to adopt the reference and settles the
volume (:func:`managed`: ``available`` with the backend's size, its quota consumed; or
``error_managing``, consuming none). Unmanaging puts an ``available`` volume in
``unmanaging`` (record ``unmanage``); the manager asks the driver to keep the data and
the row goes as a delete's does (its quota released).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.rpc.context import CallContext
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models
from tinystack.volume.payloads import ManageableEntry, ManageSpec
from tinystack.volume.services import (
    _rows,
    os_services,
    quotas,
    type_encryption,
    volume_types,
    volumes,
    workers,
)
from tinystack.volume.services.deps import Deps
from tinystack.volume.services.records import VolumeRecord

__all__ = [
    "ManageRequest", "ManageablePage", "backend_host", "listing", "manage", "managed",
    "paged", "unmanage",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class ManageRequest:
    host: str
    reference: dict[str, str]
    name: str | None = None
    description: str | None = None
    volume_type: str | None = None
    availability_zone: str | None = None
    bootable: bool = False
    metadata: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ManageablePage:
    sort_key: str = "reference"
    sort_dir: str = "desc"
    limit: int | None = None
    offset: int = 0
    marker: str | None = None


def _service(session: Session, deps: Deps, host: str) -> models.Service:
    """The backend's ``cinder-volume`` service; it must be enabled and up."""
    backend = host.partition("#")[0]
    row = session.scalars(
        select(models.Service).where(
            models.Service.host == backend, models.Service.binary == "cinder-volume"
        )
    ).first()
    if row is None:
        raise exception.ServiceNotFound(service_id=f"cinder-volume on host {backend}")
    down_time = int(deps.opts.service_down_time)
    if row.disabled or not os_services.is_up(row.heartbeat_at, down_time):
        raise exception.Invalid(f"Service {backend} is unavailable at this time.")
    return row


def backend_host(session: Session, deps: Deps, host: str) -> str:
    """The ``host@backend`` of ``host``'s volume service (enabled and up)."""
    return _service(session, deps, host).host


def _sort_value(entry: ManageableEntry, key: str) -> tuple[int, str]:
    if key == "size":
        return (entry.size, "")
    return (0, entry.reference.get("source-name", str(sorted(entry.reference.items()))))


def listing(
    deps: Deps, ctx: RequestContext, host: str, page: ManageablePage
) -> list[ManageableEntry]:
    """What the backend of ``host`` holds (the driver's list), sorted and paged as
    upstream's ``paginate_entries_list``."""
    with deps.db.reader() as session:
        service = _service(session, deps, host)
    found = deps.volumes.get_manageable_volumes(CallContext.from_request(ctx), service.host)
    return paged(found, page)


def paged(found: list[ManageableEntry], page: ManageablePage) -> list[ManageableEntry]:
    """Sorted and paged as upstream's ``paginate_entries_list``."""
    entries = sorted(
        found, key=lambda e: _sort_value(e, page.sort_key), reverse=page.sort_dir == "desc"
    )
    if page.marker is not None:
        names = [e.reference.get("source-name") for e in entries]
        if page.marker not in names:
            raise exception.InvalidInput(reason=f"marker {page.marker} not found")
        entries = entries[names.index(page.marker) + 1 :]
    entries = entries[page.offset :]
    return entries if page.limit is None else entries[: page.limit]


def manage(deps: Deps, ctx: RequestContext, req: ManageRequest) -> VolumeRecord:
    """The volume in ``managing``, cast to the backend's manager."""
    volume_id = str(uuid.uuid4())

    def tx(session: Session) -> str:
        service = _service(session, deps, req.host)
        viewer = volume_types.Viewer(ctx.project_id, ctx.is_admin)
        if req.volume_type:
            type_row = _rows.find_type_row(session, req.volume_type, viewer)
        else:
            type_row = _rows.default_type_row(
                session, deps.opts.default_volume_type, ctx.project_id
            )
        type_encryption.refuse_encrypted(session, type_row.id)
        zone = req.availability_zone or service.availability_zone
        if zone not in volumes.zones(session, deps.opts.zone):
            raise exception.InvalidAvailabilityZone(az=zone)
        host = req.host if "#" in req.host else f"{service.host}#{service.host.partition('@')[2]}"
        now = utcnow()
        session.add(
            models.Volume(
                id=volume_id, project_id=ctx.project_id or "", user_id=ctx.user_id or "",
                display_name=req.name, display_description=req.description, size=0,
                status="managing", attach_status="detached", availability_zone=zone,
                bootable=req.bootable, multiattach=False, volume_type_id=type_row.id,
                host=host, replication_status="disabled", created_at=now,
            )
        )  # fmt: skip
        session.flush()
        for key, value in req.metadata:
            session.add(models.VolumeMetadata(volume_id=volume_id, key=key, value=value))
        workers.begin(session, "Volume", volume_id, "managing", "manage", host,
                      {"reference": dict(req.reference)})  # fmt: skip
        return host

    host = deps.db.write(tx)
    event = deps.watch(volume_id)
    spec = ManageSpec(volume_id=volume_id, reference=dict(req.reference))
    deps.volumes.manage_existing(CallContext.from_request(ctx), host, spec)
    deps.settle(volume_id, event)
    with deps.db.reader() as session:
        return _rows.volume_record(session, _rows.volume_row(session, volume_id))


def managed(deps: Deps, volume_id: str, size: int | None, location: str | None) -> bool:
    """The driver adopted the data (``size``; None: it could not): ``available`` with
    its quota consumed, or ``error_managing`` (over quota too) consuming none. False when
    the volume is no longer ``managing``."""

    def tx(session: Session) -> bool:
        row = session.get(models.Volume, volume_id)
        if row is None or row.status != "managing":
            return False
        workers.finish(session, "Volume", volume_id)
        row.updated_at = utcnow()
        adopted = size
        if adopted is not None:
            vtype = session.get(models.VolumeType, row.volume_type_id or "")
            type_name = vtype.name if vtype is not None else None
            try:
                quotas.consume(
                    session, deps.opts, row.project_id, quotas.volume_deltas(adopted, type_name)
                )
            except exception.QuotaError:
                adopted = None
        if adopted is None:
            row.status = "error_managing"
            row.use_quota = False
            return True
        row.size = adopted
        row.provider_location = location
        row.status = "available"
        row.launched_at = utcnow()
        return True

    return deps.db.write(tx)


def unmanage(deps: Deps, ctx: RequestContext, volume_id: str, rule: str) -> None:
    """Stop managing the volume: the manager keeps its data on the backend."""

    def tx(session: Session) -> str:
        row = _rows.visible_volume_row(session, ctx, volume_id, lock=True)
        _rows.authorize_volume(ctx, rule, row)
        if row.status not in ("available", "error", "error_managing") or not row.host:
            raise exception.InvalidVolume(
                reason=f"Volume status must be available or error, but current status is: "
                f"{row.status}."
            )
        attached = session.scalar(
            select(func.count())
            .select_from(models.VolumeAttachment)
            .where(models.VolumeAttachment.volume_id == volume_id)
        )
        snapshots = session.scalar(
            select(func.count())
            .select_from(models.Snapshot)
            .where(models.Snapshot.volume_id == volume_id)
        )
        if attached or row.attach_status == "attached":
            raise exception.InvalidVolume(reason="Volume is attached.")
        if snapshots:
            raise exception.InvalidVolume(reason="Volume has snapshots.")
        if row.group_id:
            raise exception.InvalidVolume(reason="Volume is in a group.")
        row.status = "unmanaging"
        row.updated_at = utcnow()
        workers.begin(session, "Volume", volume_id, "unmanaging", "unmanage", row.host)
        return row.host

    host = deps.db.write(tx)
    event = deps.watch(volume_id)
    deps.volumes.unmanage(CallContext.from_request(ctx), host, volume_id)
    deps.settle(volume_id, event)
