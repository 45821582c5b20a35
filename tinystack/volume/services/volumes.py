"""Volumes: create (empty, from an image, a volume, a snapshot or a backup), show,
update and delete. Lists and the summary are ``volume_list.py``; metadata is
``volume_metadata.py``; actions are ``volume_actions.py``.

A create checks everything it can (type, zone, size, source, quota) and writes the row
in ``creating`` with its quota usage and a ``workers`` entry in one transaction, then
casts to the scheduler; the scheduler and the manager take it from there. A delete
moves the volume to ``deleting`` (or, never scheduled, removes it at once) and casts to
its manager.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.db import Database
from tinystack.common.rpc.context import CallContext
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models
from tinystack.volume.payloads import VolumeSpec
from tinystack.volume.services import (
    _rows,
    os_services,
    quotas,
    type_encryption,
    volume_types,
    workers,
)
from tinystack.volume.services.deps import Deps
from tinystack.volume.services.records import VolumeRecord

LOG = logging.getLogger(__name__)

#: statuses a volume may be deleted in without force
DELETABLE = ("available", "error", "error_restoring", "error_extending", "error_managing")
#: migration statuses that do not block a delete
AVAILABLE_MIGRATION = (None, "deleting", "error", "success")
#: a source volume may be cloned in these
CLONABLE = ("available", "in-use")
MULTIATTACH_SPEC = "multiattach"
#: the image property naming the type of volumes created from it without one
IMAGE_VOLUME_TYPE = "cinder_img_volume_type"
TRUE_SPEC = "<is> True"


@dataclass(frozen=True, slots=True)
class ImageSource:
    """What the API found of the image a volume is created from (the caller's view)."""

    id: str
    size_bytes: int
    min_disk: int
    disk_format: str | None
    #: bytes the image holds as a disk (None: the image service does not say)
    virtual_size: int | None = None
    #: properties copied into ``volume_image_metadata``
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VolumeCreate:
    """A create request, validated for shape by the API."""

    size: int | None
    name: str | None = None
    description: str | None = None
    volume_type: str | None = None
    availability_zone: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    snapshot_id: str | None = None
    source_volid: str | None = None
    backup_id: str | None = None
    group_id: str | None = None
    consistencygroup_id: str | None = None
    image: ImageSource | None = None


@dataclass(frozen=True, slots=True)
class VolumeUpdate:
    """A PUT: None leaves a field as it is."""

    name: str | None = None
    description: str | None = None
    metadata: dict[str, str] | None = None
    set_name: bool = False
    set_description: bool = False


def get(db: Database, ctx: RequestContext, volume_id: str, rule: str) -> VolumeRecord:
    """The volume, if the caller may see it and ``rule`` allows (404 / 403 otherwise)."""
    with db.reader() as session:
        row = _rows.visible_volume_row(session, ctx, volume_id)
        _rows.authorize_volume(ctx, rule, row)
        return _rows.volume_record(session, row)


def get_record(db: Database, volume_id: str) -> VolumeRecord:
    """The volume as workers see it (no authorization)."""
    with db.reader() as session:
        return _rows.volume_record(session, _rows.volume_row(session, volume_id))


# -- create -----------------------------------------------------------------------------------
def zones(session: Session, default_zone: str) -> set[str]:
    """The zones volumes may be created in: those of the volume services, and ours."""
    found = {row.availability_zone for row in _rows.volume_service_rows(session)}
    found.add(default_zone)
    return found


def _check_size(size: int | None) -> int:
    if size is None or isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise exception.InvalidInput(
            reason=f"Volume size '{size}' must be an integer and greater than 0"
        )
    return size


def _source_volume(
    session: Session, ctx: RequestContext, source_volid: str, size: int | None
) -> models.Volume:
    source = _rows.visible_volume_row(session, ctx, source_volid)
    if source.status not in CLONABLE:
        raise exception.InvalidVolume(
            reason="Unable to create a volume from an originating source volume when its "
            "status is not 'available' or 'in-use'."
        )
    if size is not None and size < source.size:
        raise exception.InvalidInput(
            reason=f"Volume size '{size}'GB cannot be smaller than original volume size "
            f"{source.size}GB. They must be >= original volume size."
        )
    return source


def _snapshot(
    session: Session, ctx: RequestContext, snapshot_id: str, size: int | None
) -> models.Snapshot:
    snap = session.get(models.Snapshot, snapshot_id)
    if snap is None or (not ctx.is_admin and snap.project_id != ctx.project_id):
        raise exception.SnapshotNotFound(snapshot_id=snapshot_id)
    if snap.status != "available":
        raise exception.Invalid(
            "Invalid snapshot: Originating snapshot status must be one of 'available' values"
        )
    if size is not None and size < snap.volume_size:
        raise exception.InvalidInput(
            reason=f"Volume size '{size}'GB cannot be smaller than the snapshot size "
            f"{snap.volume_size}GB. They must be >= original snapshot size."
        )
    return snap


def _backup(
    session: Session, ctx: RequestContext, backup_id: str, size: int | None
) -> models.Backup:
    backup = session.get(models.Backup, backup_id)
    if backup is None or (not ctx.is_admin and backup.project_id != ctx.project_id):
        raise exception.BackupNotFound(backup_id=backup_id)
    if backup.status != "available":
        raise exception.Invalid(
            f"Invalid backup: Backup status must be available but is {backup.status}."
        )
    if size is not None and size < backup.size:
        raise exception.InvalidInput(
            reason=f"Volume size {size}GB cannot be smaller than the backup size "
            f"{backup.size}GB. It must be >= backup size."
        )
    return backup


def _group(session: Session, ctx: RequestContext, group_id: str) -> models.Group:
    group = session.get(models.Group, group_id)
    if group is None or (not ctx.is_admin and group.project_id != ctx.project_id):
        raise exception.GroupNotFound(group_id=group_id)
    if group.status not in ("available", "in-use", "creating"):
        raise exception.InvalidGroup(
            reason=f"Group {group_id} status must be available, but is {group.status}."
        )
    return group


def _check_group_type(session: Session, group_id: str, type_id: str) -> None:
    allowed = set(
        session.scalars(
            select(models.GroupVolumeTypeMapping.volume_type_id).where(
                models.GroupVolumeTypeMapping.group_id == group_id
            )
        )
    )
    if type_id not in allowed:
        raise exception.InvalidInput(
            reason=f"Invalid volume_type provided: {type_id}. The volume type is not one of "
            f"group {group_id}'s."
        )


def check_image(image: ImageSource, size: int) -> None:
    """The image fits a volume of ``size`` GiB (virtual size, file size, min_disk)."""
    if image.virtual_size is not None and image.virtual_size > size * 1024**3:
        virtual_gb = -(-image.virtual_size // (1024**3))
        raise exception.InvalidInput(
            reason=f"Image virtual size is {virtual_gb}GB and doesn't fit in a volume of "
            f"size {size}GB."
        )
    image_gb = -(-image.size_bytes // (1024**3))
    if image_gb > size:
        raise exception.InvalidInput(
            reason=f"Size of specified image {image_gb}GB is larger than volume size {size}GB."
        )
    if image.min_disk > size:
        raise exception.InvalidInput(
            reason=f"Volume size {size}GB cannot be smaller than the image minDisk size "
            f"{image.min_disk}GB."
        )


@dataclass
class _Plan:
    """What a create resolved before the row is written."""

    size: int
    type_row: models.VolumeType
    zone: str
    source_host: str | None = None
    bootable: bool = False
    image_metadata: dict[str, str] = field(default_factory=dict)


def _resolve_type(
    session: Session,
    ctx: RequestContext,
    deps: Deps,
    wanted: str | None,
    inherited: str | None,
    image_type: str | None = None,
) -> models.VolumeType:
    viewer = volume_types.Viewer(ctx.project_id, ctx.is_admin)
    if wanted:
        row = _rows.find_type_row(session, wanted, viewer)
        if inherited and row.id != inherited:
            source = session.get(models.VolumeType, inherited)
            if source is not None and _backend(session, source) != _backend(session, row):
                raise exception.Invalid(
                    f"Invalid volume_type provided: {wanted} (requested type is not "
                    "compatible; either match source volume, or omit type argument)."
                )
        return row
    if inherited:
        found = session.get(models.VolumeType, inherited)
        if found is not None:
            return found
    if image_type:  # the image's cinder_img_volume_type, if the caller may use it
        try:
            return _rows.find_type_row(session, image_type, viewer)
        except exception.VolumeTypeNotFound:
            LOG.warning("image volume type %s not found: the default type is used", image_type)
    return _rows.default_type_row(session, deps.opts.default_volume_type, ctx.project_id)


def _backend(session: Session, row: models.VolumeType) -> str | None:
    spec = session.get(models.VolumeTypeExtraSpec, (row.id, "volume_backend_name"))
    return spec.value if spec is not None else None


def _plan(session: Session, deps: Deps, ctx: RequestContext, req: VolumeCreate) -> _Plan:
    size = req.size
    inherited_type: str | None = None
    inherited_zone: str | None = None
    source_host: str | None = None
    bootable = False
    image_metadata: dict[str, str] = {}
    if req.source_volid:
        source = _source_volume(session, ctx, req.source_volid, size)
        size = source.size if size is None else size
        inherited_type, inherited_zone, source_host = (
            source.volume_type_id, source.availability_zone, source.host,
        )  # fmt: skip
        bootable = source.bootable
        image_metadata = _image_metadata(session, volume_id=source.id)
    elif req.snapshot_id:
        snap = _snapshot(session, ctx, req.snapshot_id, size)
        size = snap.volume_size if size is None else size
        parent = session.get(models.Volume, snap.volume_id)
        inherited_type = snap.volume_type_id
        if parent is not None:
            inherited_zone, source_host, bootable = (
                parent.availability_zone, parent.host, parent.bootable,
            )  # fmt: skip
        image_metadata = _image_metadata(session, snapshot_id=snap.id)
    elif req.backup_id:
        backup = _backup(session, ctx, req.backup_id, size)
        size = backup.size if size is None else size
    if req.group_id:
        group = _group(session, ctx, req.group_id)
        inherited_zone = inherited_zone or group.availability_zone
        source_host = source_host or group.host
    size = _check_size(size)
    if req.image is not None:
        check_image(req.image, size)
        bootable = True
        image_metadata = dict(req.image.properties)
    image_type = req.image.properties.get(IMAGE_VOLUME_TYPE) if req.image is not None else None
    type_row = _resolve_type(session, ctx, deps, req.volume_type, inherited_type, image_type)
    type_encryption.refuse_encrypted(session, type_row.id)
    if req.group_id:
        _check_group_type(session, req.group_id, type_row.id)
    zone = req.availability_zone or inherited_zone or deps.opts.zone
    if inherited_zone and req.availability_zone and req.availability_zone != inherited_zone:
        raise exception.InvalidInput(
            reason="Volume must be in the same availability zone as the source volume"
        )
    if zone not in zones(session, deps.opts.zone):
        if not deps.opts.allow_availability_zone_fallback:
            raise exception.InvalidAvailabilityZone(az=zone)
        zone = deps.opts.zone
    quotas.check_size_limit(session, deps.opts, ctx.project_id or "", size)
    return _Plan(size, type_row, zone, source_host, bootable, image_metadata)


def _image_metadata(
    session: Session, *, volume_id: str | None = None, snapshot_id: str | None = None
) -> dict[str, str]:
    query = select(models.VolumeGlanceMetadata.key, models.VolumeGlanceMetadata.value)
    if volume_id is not None:
        query = query.where(models.VolumeGlanceMetadata.volume_id == volume_id)
    else:
        query = query.where(models.VolumeGlanceMetadata.snapshot_id == snapshot_id)
    return dict(session.execute(query).tuples().all())


def create(deps: Deps, ctx: RequestContext, req: VolumeCreate) -> VolumeRecord:
    """Write the volume in ``creating`` and cast it to the scheduler; lingers up to
    ``api_settle_seconds`` for workers in this process, then returns what it is."""
    volume_id = str(uuid.uuid4())
    project_id = ctx.project_id or ""

    def tx(session: Session) -> VolumeSpec:
        plan = _plan(session, deps, ctx, req)
        specs = volume_types.records(session, [plan.type_row])[0].extra_specs
        quotas.consume(
            session, deps.opts, project_id, quotas.volume_deltas(plan.size, plan.type_row.name)
        )
        now = utcnow()
        session.add(
            models.Volume(
                id=volume_id,
                project_id=project_id,
                user_id=ctx.user_id or "",
                display_name=req.name,
                display_description=req.description,
                size=plan.size,
                status="creating",
                attach_status="detached",
                availability_zone=plan.zone,
                bootable=plan.bootable,
                multiattach=specs.get(MULTIATTACH_SPEC) == TRUE_SPEC,
                volume_type_id=plan.type_row.id,
                snapshot_id=req.snapshot_id,
                source_volid=req.source_volid,
                backup_id=req.backup_id,
                image_id=req.image.id if req.image else None,
                group_id=req.group_id,
                consistencygroup_id=req.consistencygroup_id,
                replication_status="disabled",
                created_at=now,
            )
        )
        session.flush()
        for key, value in req.metadata.items():
            session.add(models.VolumeMetadata(volume_id=volume_id, key=key, value=value))
        for key, value in plan.image_metadata.items():
            session.add(models.VolumeGlanceMetadata(volume_id=volume_id, key=key, value=value))
        workers.begin(session, "Volume", volume_id, "creating", "schedule", None)
        return VolumeSpec(
            volume_id=volume_id,
            project_id=project_id,
            size=plan.size,
            volume_type_id=plan.type_row.id,
            extra_specs=specs,
            availability_zone=plan.zone,
            source_volid=req.source_volid,
            snapshot_id=req.snapshot_id,
            backup_id=req.backup_id,
            image_id=req.image.id if req.image else None,
            source_host=plan.source_host,
            multiattach=specs.get(MULTIATTACH_SPEC) == TRUE_SPEC,
            group_id=req.group_id,
        )

    spec = deps.db.write(tx)
    event = deps.watch(volume_id)
    deps.scheduler.create_volume(CallContext.from_request(ctx), spec)
    deps.settle(volume_id, event)
    return get_record(deps.db, volume_id)


# -- update -----------------------------------------------------------------------------------
def update(
    db: Database, ctx: RequestContext, volume_id: str, changes: VolumeUpdate, rule: str
) -> VolumeRecord:
    def tx(session: Session) -> VolumeRecord:
        row = _rows.visible_volume_row(session, ctx, volume_id, lock=True)
        _rows.authorize_volume(ctx, rule, row)
        if changes.set_name:
            row.display_name = changes.name
        if changes.set_description:
            row.display_description = changes.description
        if changes.metadata is not None:
            session.query(models.VolumeMetadata).filter(
                models.VolumeMetadata.volume_id == volume_id
            ).delete()
            for key, value in changes.metadata.items():
                session.add(models.VolumeMetadata(volume_id=volume_id, key=key, value=value))
        row.updated_at = utcnow()
        session.flush()
        return _rows.volume_record(session, row)

    return db.write(tx)


# -- delete -----------------------------------------------------------------------------------
def _undeletable(status: str | None) -> exception.InvalidVolume:
    prefix = f"status must be {' or '.join(DELETABLE)} and " if status else ""
    return exception.InvalidVolume(
        reason=f"Volume {prefix}must not be migrating, attached, belong to a group, have "
        "snapshots, awaiting a transfer, or be disassociated from snapshots after volume "
        "transfer."
    )


def _snapshot_rows(session: Session, volume_id: str) -> list[models.Snapshot]:
    return list(
        session.scalars(select(models.Snapshot).where(models.Snapshot.volume_id == volume_id))
    )


def delete(
    deps: Deps,
    ctx: RequestContext,
    volume_id: str,
    rule: str,
    *,
    cascade: bool = False,
    force: bool = False,
    force_rule: str | None = None,
) -> None:
    """Delete the volume (``cascade``: with its snapshots; ``force``: whatever its status,
    authorized by ``force_rule``)."""

    def tx(session: Session) -> str | None:
        row = _rows.visible_volume_row(session, ctx, volume_id, lock=True)
        _rows.authorize_volume(ctx, rule, row)
        if force and force_rule:
            _rows.authorize_volume(ctx, force_rule, row)
        if not row.host:
            forget_unscheduled(session, row)
            return None
        if row.host.partition("#")[0] in os_services.frozen_hosts(session):
            raise exception.InvalidVolume(reason="Volume's backend is frozen.")
        _check_deletable(session, row, cascade=cascade, force=force)
        if cascade:
            for snap in _snapshot_rows(session, volume_id):
                snap.status = "deleting"
                snap.updated_at = utcnow()
        row.status = "deleting"
        row.terminated_at = utcnow()
        row.updated_at = utcnow()
        workers.begin(session, "Volume", volume_id, "deleting", "delete", row.host)
        return row.host

    host = deps.db.write(tx)
    if host is None:
        return
    event = deps.watch(volume_id)
    deps.volumes.delete_volume(CallContext.from_request(ctx), host, volume_id)
    deps.settle(volume_id, event)


def forget_unscheduled(session: Session, row: models.Volume) -> None:
    """A volume never scheduled has nothing on a backend: its row (and quota) go at once."""
    if row.use_quota and row.status != "error_managing":
        type_name = _type_name(session, row.volume_type_id)
        quotas.release(session, row.project_id, quotas.volume_deltas(row.size, type_name))
    workers.finish(session, "Volume", row.id)
    session.delete(row)


def _check_deletable(session: Session, row: models.Volume, *, cascade: bool, force: bool) -> None:
    if not force and row.status not in DELETABLE:
        raise _undeletable(row.status)
    attached = session.scalar(
        select(func.count())
        .select_from(models.VolumeAttachment)
        .where(
            models.VolumeAttachment.volume_id == row.id,
            models.VolumeAttachment.attach_status != "detached",
        )
    )
    if row.attach_status == "attached" or attached:
        raise _undeletable(None if force else row.status)
    if row.migration_status not in AVAILABLE_MIGRATION or row.group_id or row.consistencygroup_id:
        raise _undeletable(None if force else row.status)
    snapshots = _snapshot_rows(session, row.id)
    if snapshots and not cascade:
        raise _undeletable(None if force else row.status)
    if cascade and not force:
        if any(s.status not in ("available", "error", "deleting") for s in snapshots):
            raise exception.InvalidVolume(reason="Failed to update snapshot.")
    transfer = session.scalar(
        select(func.count()).select_from(models.Transfer).where(models.Transfer.volume_id == row.id)
    )
    if transfer:
        raise _undeletable(None if force else row.status)


def _type_name(session: Session, type_id: str | None) -> str | None:
    if not type_id:
        return None
    row = session.get(models.VolumeType, type_id)
    return row.name if row is not None else None


# -- re-reading a spec (restart recovery) ----------------------------------------------------
def spec_of(db: Database, volume_id: str) -> VolumeSpec | None:
    """The :class:`VolumeSpec` a volume was created with, rebuilt from its row (a
    restarted scheduler or manager replays the create)."""
    with db.reader() as session:
        row = session.get(models.Volume, volume_id)
        if row is None:
            return None
        specs: dict[str, str] = {}
        if row.volume_type_id:
            specs = volume_types.specs_of(session, [row.volume_type_id])[row.volume_type_id]
        source_host = None
        if row.source_volid:
            source = session.get(models.Volume, row.source_volid)
            source_host = source.host if source is not None else None
        elif row.snapshot_id:
            snap = session.get(models.Snapshot, row.snapshot_id)
            parent = session.get(models.Volume, snap.volume_id) if snap is not None else None
            source_host = parent.host if parent is not None else None
        return VolumeSpec(
            volume_id=row.id,
            project_id=row.project_id,
            size=row.size,
            volume_type_id=row.volume_type_id,
            extra_specs=specs,
            availability_zone=row.availability_zone,
            source_volid=row.source_volid,
            snapshot_id=row.snapshot_id,
            backup_id=row.backup_id,
            image_id=row.image_id,
            source_host=source_host,
            multiattach=row.multiattach,
            group_id=row.group_id,
            host=row.host,
        )
