"""Rows into records, in one place; the row loaders the resource modules share."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.volume import exception, models
from tinystack.volume.services.records import AttachmentRecord, VolumeRecord


def attachment_record(row: models.VolumeAttachment) -> AttachmentRecord:
    return AttachmentRecord(
        id=row.id,
        volume_id=row.volume_id,
        attach_status=row.attach_status,
        attach_mode=row.attach_mode,
        instance_uuid=row.instance_uuid,
        attached_host=row.attached_host,
        mountpoint=row.mountpoint,
        attach_time=row.attach_time,
        detach_time=row.detach_time,
        connector=row.connector,
        connection_info=row.connection_info,
        project_id=row.project_id,
    )


def volume_records(session: Session, rows: Sequence[models.Volume]) -> list[VolumeRecord]:
    """Records of ``rows`` with their metadata, attachments and type names (a few
    queries for the whole page, not per volume)."""
    if not rows:
        return []
    ids = [row.id for row in rows]
    metadata: dict[str, dict[str, str]] = defaultdict(dict)
    for vid, key, value in session.execute(
        select(models.VolumeMetadata.volume_id, models.VolumeMetadata.key,
               models.VolumeMetadata.value).where(models.VolumeMetadata.volume_id.in_(ids))
    ):  # fmt: skip
        metadata[vid][key] = value
    admin: dict[str, dict[str, str]] = defaultdict(dict)
    for vid, key, value in session.execute(
        select(models.VolumeAdminMetadata.volume_id, models.VolumeAdminMetadata.key,
               models.VolumeAdminMetadata.value)
        .where(models.VolumeAdminMetadata.volume_id.in_(ids))
    ):  # fmt: skip
        admin[vid][key] = value
    image: dict[str, dict[str, str]] = defaultdict(dict)
    for image_vid, key, value in session.execute(
        select(models.VolumeGlanceMetadata.volume_id, models.VolumeGlanceMetadata.key,
               models.VolumeGlanceMetadata.value)
        .where(models.VolumeGlanceMetadata.volume_id.in_(ids))
    ):  # fmt: skip
        if image_vid is not None:
            image[image_vid][key] = value
    attachments: dict[str, list[AttachmentRecord]] = defaultdict(list)
    for att in session.scalars(
        select(models.VolumeAttachment)
        .where(models.VolumeAttachment.volume_id.in_(ids))
        .order_by(models.VolumeAttachment.created_at)
    ):
        attachments[att.volume_id].append(attachment_record(att))
    type_ids = {row.volume_type_id for row in rows if row.volume_type_id}
    names: dict[str, str] = {}
    if type_ids:
        names = dict(
            session.execute(
                select(models.VolumeType.id, models.VolumeType.name).where(
                    models.VolumeType.id.in_(type_ids)
                )
            )
            .tuples()
            .all()
        )
    return [
        _record(row, metadata[row.id], admin[row.id], image[row.id], attachments[row.id], names)
        for row in rows
    ]


def _record(
    row: models.Volume,
    metadata: dict[str, str],
    admin: dict[str, str],
    image: dict[str, str],
    attachments: list[AttachmentRecord],
    type_names: dict[str, str],
) -> VolumeRecord:
    return VolumeRecord(
        id=row.id,
        project_id=row.project_id,
        user_id=row.user_id,
        name=row.display_name,
        description=row.display_description,
        size=row.size,
        status=row.status,
        attach_status=row.attach_status,
        migration_status=row.migration_status,
        replication_status=row.replication_status,
        host=row.host,
        cluster_name=row.cluster_name,
        availability_zone=row.availability_zone,
        provider_location=row.provider_location,
        provider_id=row.provider_id,
        bootable=row.bootable,
        multiattach=row.multiattach,
        encrypted=row.encrypted,
        encryption_key_id=row.encryption_key_id,
        volume_type_id=row.volume_type_id,
        volume_type_name=type_names.get(row.volume_type_id or ""),
        snapshot_id=row.snapshot_id,
        source_volid=row.source_volid,
        backup_id=row.backup_id,
        group_id=row.group_id,
        consistencygroup_id=row.consistencygroup_id,
        use_quota=row.use_quota,
        service_uuid=row.service_uuid,
        shared_targets=row.shared_targets,
        created_at=row.created_at,
        updated_at=row.updated_at,
        launched_at=row.launched_at,
        terminated_at=row.terminated_at,
        metadata=metadata,
        admin_metadata=admin,
        image_metadata=image,
        attachments=tuple(attachments),
    )


def volume_record(session: Session, row: models.Volume) -> VolumeRecord:
    return volume_records(session, [row])[0]


def volume_row(session: Session, volume_id: str, *, lock: bool = False) -> models.Volume:
    """The volume, or VolumeNotFound (``lock``: FOR UPDATE on databases that lock rows)."""
    query = select(models.Volume).where(models.Volume.id == volume_id)
    if lock:
        query = query.with_for_update()
    row = session.scalars(query).first()
    if row is None:
        raise exception.VolumeNotFound(volume_id=volume_id)
    return row


def visible_volume_row(
    session: Session, ctx: RequestContext, volume_id: str, *, lock: bool = False
) -> models.Volume:
    """The volume if the caller's project owns it or the caller is an admin; upstream
    answers 404 (not 403) for another project's volume."""
    row = volume_row(session, volume_id, lock=lock)
    if not ctx.is_admin and row.project_id != ctx.project_id:
        raise exception.VolumeNotFound(volume_id=volume_id)
    return row


def authorize_volume(ctx: RequestContext, rule: str, row: models.Volume) -> None:
    """``rule`` on the volume (its project and owner are the target)."""
    ctx.can(rule, {"project_id": row.project_id, "user_id": row.user_id})


# -- volume types ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking: admins see every type; others public ones and those shared with
    their project."""

    project_id: str | None
    is_admin: bool


def type_visible(session: Session, row: models.VolumeType, viewer: Viewer) -> bool:
    if row.is_public or viewer.is_admin:
        return True
    shared = session.get(models.VolumeTypeProject, (row.id, viewer.project_id or ""))
    return shared is not None


def type_row(session: Session, type_id: str) -> models.VolumeType:
    row = session.get(models.VolumeType, type_id)
    if row is None:
        raise exception.VolumeTypeNotFound(volume_type_id=type_id)
    return row


def find_type_row(session: Session, name_or_id: str, viewer: Viewer) -> models.VolumeType:
    """A type the viewer may use, by id or by name (VolumeTypeNotFound otherwise)."""
    row = session.get(models.VolumeType, name_or_id)
    if row is None:
        row = session.scalars(
            select(models.VolumeType).where(models.VolumeType.name == name_or_id)
        ).first()
        if row is None or not type_visible(session, row, viewer):
            raise exception.VolumeTypeNotFoundByName(volume_type_name=name_or_id)
    if not type_visible(session, row, viewer):
        raise exception.VolumeTypeNotFound(volume_type_id=name_or_id)
    return row


def default_type_row(
    session: Session, default_name: str, project_id: str | None
) -> models.VolumeType:
    """The type of volumes created without one: the project's default (3.62), else the
    configured default type."""
    if project_id:
        chosen = session.get(models.DefaultVolumeType, project_id)
        if chosen is not None:
            row = session.get(models.VolumeType, chosen.volume_type_id)
            if row is not None:
                return row
    row = session.scalars(
        select(models.VolumeType).where(models.VolumeType.name == default_name)
    ).first()
    if row is None:
        raise exception.VolumeTypeNotFoundByName(volume_type_name=default_name)
    return row


# -- services -----------------------------------------------------------------------------------
def volume_service_rows(session: Session) -> list[models.Service]:
    """The cinder-volume services (one per backend)."""
    return list(
        session.scalars(select(models.Service).where(models.Service.binary == "cinder-volume"))
    )


def is_multiattach_type(session: Session, type_id: str | None) -> bool:
    """Whether the type's extra specs make its volumes multiattach."""
    if not type_id:
        return False
    spec = session.get(models.VolumeTypeExtraSpec, (type_id, "multiattach"))
    return spec is not None and spec.value == "<is> True"
