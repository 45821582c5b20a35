"""User messages (3.3): what went wrong with a project's resource, in upstream's words.

A worker records one with :func:`create` (an action and a detail from the tables
below, as upstream's ``message_field``); the project lists, shows and deletes them;
they expire after ``[volume] message_ttl``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models
from tinystack.volume.services.records import MessageRecord

VOLUME = "VOLUME"
SNAPSHOT = "VOLUME_SNAPSHOT"
BACKUP = "VOLUME_BACKUP"

#: action id -> what was being done
ACTIONS = {
    "001": "schedule allocate volume",
    "002": "attach volume",
    "003": "copy volume to image",
    "004": "update attachment",
    "005": "copy image to volume",
    "006": "unmanage volume",
    "007": "extend volume",
    "008": "create volume from backend storage",
    "009": "create snapshot",
    "010": "delete snapshot",
    "011": "update snapshot",
    "012": "update snapshot metadata",
    "013": "create backup",
    "014": "delete backup",
    "015": "restore backup",
    "016": "reimage volume",
}
SCHEDULE_ALLOCATE_VOLUME = "001"
ATTACH_VOLUME = "002"
COPY_VOLUME_TO_IMAGE = "003"
UPDATE_ATTACHMENT = "004"
COPY_IMAGE_TO_VOLUME = "005"
EXTEND_VOLUME = "007"
CREATE_VOLUME_FROM_BACKEND = "008"
SNAPSHOT_CREATE = "009"
SNAPSHOT_DELETE = "010"
BACKUP_CREATE = "013"
BACKUP_DELETE = "014"
BACKUP_RESTORE = "015"
REIMAGE_VOLUME = "016"

#: detail id -> why it failed
DETAILS = {
    "001": "An unknown error occurred.",
    "002": "Driver is not initialized at present.",
    "003": "Could not find any available weighted backend.",
    "004": "Failed to upload volume to image at backend.",
    "005": "Volume's attach mode is invalid.",
    "006": "Not enough quota resource for operation.",
    "007": "Image used for creating volume exceeds available space.",
    "009": "Compute service failed to extend volume.",
    "010": "Volume Driver failed to extend volume.",
    "012": "Driver failed to create the volume.",
    "013": "Snapshot failed to create.",
    "015": "Snapshot is busy.",
    "016": "Snapshot failed to delete.",
    "017": "Backup status is invalid.",
    "018": "Backup service is down.",
    "020": "Backup driver failed to create backup.",
    "021": "Failed to attach volume.",
    "022": "Failed to detach volume.",
    "025": "Backup driver failed to delete backup.",
    "026": "Backup driver failed to restore backup.",
    "027": "Volume status is invalid.",
}
UNKNOWN_ERROR = "001"
NO_BACKEND_AVAILABLE = "003"
FAILED_TO_UPLOAD_VOLUME = "004"
QUOTA_EXCEED = "006"
NOT_ENOUGH_SPACE_FOR_IMAGE = "007"
NOTIFY_COMPUTE_SERVICE_FAILED = "009"
DRIVER_FAILED_EXTEND = "010"
DRIVER_FAILED_CREATE = "012"
VOLUME_INVALID_STATE = "027"


def user_message(action_id: str | None, detail_id: str | None) -> str:
    return f"{ACTIONS.get(action_id or '', '')}: {DETAILS.get(detail_id or '', DETAILS['001'])}"


def _record(row: models.Message) -> MessageRecord:
    return MessageRecord(
        id=row.id,
        project_id=row.project_id,
        request_id=row.request_id,
        resource_type=row.resource_type,
        resource_uuid=row.resource_uuid,
        message_level=row.message_level,
        event_id=row.event_id,
        user_message=user_message(row.action_id, row.detail_id),
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


def add(
    session: Session,
    *,
    project_id: str,
    resource_type: str,
    resource_uuid: str | None,
    action_id: str,
    detail_id: str,
    request_id: str | None,
    ttl: int,
) -> None:
    """Record a message in the caller's transaction."""
    now = utcnow()
    session.add(
        models.Message(
            id=str(uuid.uuid4()),
            project_id=project_id,
            request_id=request_id,
            resource_type=resource_type,
            resource_uuid=resource_uuid,
            message_level="ERROR",
            event_id=f"VOLUME_{resource_type}_{action_id}_{detail_id}",
            action_id=action_id,
            detail_id=detail_id,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl),
        )
    )


def list_messages(
    db: Database,
    project_id: str | None,
    *,
    filters: dict[str, str],
    sort: list[tuple[str, str]],
    limit: int | None,
    marker: str | None,
    offset: int = 0,
) -> list[MessageRecord]:
    """Unexpired messages of ``project_id`` (None: every project, for admins)."""
    sortable = {
        "id", "project_id", "request_id", "resource_type", "resource_uuid", "message_level",
        "event_id", "created_at", "expires_at",
    }  # fmt: skip
    with db.reader() as session:
        query = select(models.Message).where(
            (models.Message.expires_at.is_(None)) | (models.Message.expires_at > utcnow())
        )
        if project_id is not None:
            query = query.where(models.Message.project_id == project_id)
        for key, value in filters.items():
            if key not in sortable:
                raise exception.InvalidInput(reason=f"Invalid filter key {key}")
            query = query.where(getattr(models.Message, key) == value)
        rows = list(session.scalars(query))
    for key, direction in reversed(sort):
        if key not in sortable:
            raise exception.InvalidInput(reason=f"Invalid sort key {key}")
        rows.sort(key=lambda r, k=key: str(getattr(r, k) or ""), reverse=direction == "desc")  # type: ignore[misc]
    if marker is not None:
        ids = [r.id for r in rows]
        if marker not in ids:
            raise exception.MessageNotFound(message_id=marker)
        rows = rows[ids.index(marker) + 1 :]
    rows = rows[offset:]
    if limit is not None:
        rows = rows[:limit]
    return [_record(r) for r in rows]


def get(db: Database, message_id: str, project_id: str | None) -> MessageRecord:
    with db.reader() as session:
        row = session.get(models.Message, message_id)
        if row is None or (project_id is not None and row.project_id != project_id):
            raise exception.MessageNotFound(message_id=message_id)
        return _record(row)


def destroy(db: Database, message_id: str, project_id: str | None) -> None:
    def tx(session: Session) -> None:
        row = session.get(models.Message, message_id)
        if row is None or (project_id is not None and row.project_id != project_id):
            raise exception.MessageNotFound(message_id=message_id)
        session.delete(row)

    db.write(tx)


def purge_expired(db: Database) -> int:
    def tx(session: Session) -> int:
        result = session.execute(delete(models.Message).where(models.Message.expires_at < utcnow()))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    return db.write(tx)
