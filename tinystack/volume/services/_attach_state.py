"""The attachment state machine on rows, shared by the API's service layer and the
manager: which statuses a volume takes from its attachments, and the row changes of
reserve, connect, attach, complete and detach (each inside the caller's transaction).

A volume's ``status`` and ``attach_status`` follow its attachments as upstream's
``volume_detached`` computes them: the "smallest" attachment status that is not an
error wins (attached < attaching < detaching < reserved), ``attached`` shows as
``in-use`` and no attachment as ``available``/``detached``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tinystack.common.rpc.payload import JSON
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models

ATTACHED = "attached"
ATTACHING = "attaching"
DETACHING = "detaching"
RESERVED = "reserved"
DETACHED = "detached"
#: the attachment is attached or being attached: it counts against a non-multiattach volume
_STATUS_OF = {ATTACHED: "in-use", DETACHED: "available"}
#: admin metadata: the mode of the legacy os-attach, and the readonly flag
ATTACHED_MODE = "attached_mode"
READONLY = "readonly"


def attachment_row(
    session: Session, attachment_id: str, project_id: str | None = None, *, lock: bool = False
) -> models.VolumeAttachment:
    """The attachment (of a volume of ``project_id`` unless None), or upstream's 404."""
    query = select(models.VolumeAttachment).where(models.VolumeAttachment.id == attachment_id)
    if project_id is not None:
        query = query.join(models.Volume, models.Volume.id == models.VolumeAttachment.volume_id)
        query = query.where(models.Volume.project_id == project_id)
    if lock:
        query = query.with_for_update()
    row = session.scalars(query).first()
    if row is None:
        raise exception.VolumeAttachmentNotFound(filter=f"attachment_id = {attachment_id}")
    return row


def attachments_of(session: Session, volume_id: str) -> list[models.VolumeAttachment]:
    return list(
        session.scalars(
            select(models.VolumeAttachment)
            .where(models.VolumeAttachment.volume_id == volume_id)
            .order_by(models.VolumeAttachment.created_at, models.VolumeAttachment.id)
        )
    )


def admin_metadata(session: Session, volume_id: str) -> dict[str, str]:
    rows = session.scalars(
        select(models.VolumeAdminMetadata).where(models.VolumeAdminMetadata.volume_id == volume_id)
    )
    return {row.key: row.value for row in rows}


def set_admin_metadata(session: Session, volume_id: str, key: str, value: str | None) -> None:
    """Set (or with None remove) one admin metadata key."""
    row = session.get(models.VolumeAdminMetadata, (volume_id, key))
    if value is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(models.VolumeAdminMetadata(volume_id=volume_id, key=key, value=value))
    else:
        row.value = value


def readonly(session: Session, volume_id: str) -> bool:
    return admin_metadata(session, volume_id).get(READONLY) == "True"


def settle(session: Session, volume: models.Volume) -> None:
    """The volume's status and attach_status from the attachments it has now."""
    session.flush()
    found = session.scalars(
        select(models.VolumeAttachment.attach_status).where(
            models.VolumeAttachment.volume_id == volume.id,
            ~models.VolumeAttachment.attach_status.startswith("error_"),
        )
    ).all()
    attach_status = min(found) if found else DETACHED
    volume.attach_status = attach_status
    # as upstream: an upload or a migration sets the status itself when it ends
    if (
        attach_status != DETACHED
        or (not volume.migration_status and volume.status != "uploading")
        or volume.migration_status in ("success", "error")
    ):
        volume.status = _STATUS_OF.get(attach_status, attach_status)
    volume.updated_at = utcnow()


def new_attachment(
    session: Session,
    volume: models.Volume,
    *,
    status: str,
    instance_uuid: str | None = None,
    mode: str = "null",
) -> models.VolumeAttachment:
    now = utcnow()
    row = models.VolumeAttachment(
        id=str(uuid.uuid4()),
        volume_id=volume.id,
        project_id=volume.project_id,
        attach_status=status,
        attach_mode=mode,
        instance_uuid=instance_uuid,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def remove(session: Session, volume: models.Volume, attachment_id: str) -> None:
    """Delete the attachment and settle the volume (upstream's ``finish_detach``)."""
    session.execute(
        delete(models.VolumeAttachment).where(models.VolumeAttachment.id == attachment_id)
    )
    set_admin_metadata(session, volume.id, ATTACHED_MODE, None)
    settle(session, volume)


def or_str(statuses: Iterable[str]) -> str:
    """``a or b or c``, as upstream's ``build_or_str``."""
    return " or ".join(statuses)


def connected(
    session: Session,
    row: models.VolumeAttachment,
    *,
    connector: dict[str, JSON],
    connection_info: dict[str, JSON],
    mode: str,
    legacy: bool,
) -> None:
    """Record the export made for ``row``: the attachment is ``attaching`` (an attached
    one stays attached when ``legacy``: a refreshed connection) and, unless ``legacy``,
    the volume too (upstream's ``volume_attached(mark_attached=False)``)."""
    now = utcnow()
    row.connector = dict(connector)
    row.connection_info = dict(connection_info)
    row.attached_host = _text(connector.get("host"))
    row.mountpoint = _text(connector.get("mountpoint")) or row.mountpoint or "na"
    row.attach_mode = mode
    row.attach_time = now
    row.updated_at = now
    if legacy and row.attach_status == ATTACHED:
        return
    row.attach_status = ATTACHING
    if legacy:
        return
    volume = session.get(models.Volume, row.volume_id)
    if volume is not None:
        volume.status = ATTACHING
        volume.attach_status = ATTACHING
        volume.updated_at = now


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
