"""The backup service's side of a backup's life: what it reads, and the transitions it
makes when an operation ends, each in one transaction with its ``workers`` record (the
volume or snapshot put back where it was, quota released on delete, a user message on
failure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.common.rpc.payload import JSON
from tinystack.common.timeutils import utcnow
from tinystack.volume import models
from tinystack.volume.services import messages, quotas, workers

BACKUP = "Backup"
META_VERSION = 2


@dataclass(frozen=True, slots=True)
class BackupState:
    id: str
    volume_id: str
    snapshot_id: str | None
    project_id: str
    status: str
    host: str | None
    size: int
    container: str | None
    service_metadata: str | None
    parent_id: str | None
    name: str | None
    description: str | None
    temp_snapshot_id: str | None
    restore_volume_id: str | None
    data_timestamp: datetime | None
    #: the driver holding its objects (Cinder's driver name: posix or swift)
    service: str | None = None


def _state(row: models.Backup) -> BackupState:
    return BackupState(
        id=row.id, volume_id=row.volume_id, snapshot_id=row.snapshot_id,
        project_id=row.project_id, status=row.status, host=row.host, size=row.size,
        container=row.container, service_metadata=row.service_metadata,
        parent_id=row.parent_id, name=row.display_name, description=row.display_description,
        temp_snapshot_id=row.temp_snapshot_id, restore_volume_id=row.restore_volume_id,
        data_timestamp=row.data_timestamp, service=row.service,
    )  # fmt: skip


def get(db: Database, backup_id: str) -> BackupState | None:
    with db.reader() as session:
        row = session.get(models.Backup, backup_id)
        return _state(row) if row is not None else None


def volume_host(db: Database, volume_id: str) -> str | None:
    with db.reader() as session:
        volume = session.get(models.Volume, volume_id)
        return volume.host if volume is not None else None


def operation(db: Database, backup_id: str) -> workers.Operation | None:
    return workers.get(db, BACKUP, backup_id)


def pending(db: Database, host: str, older_than: float | None = None) -> list[workers.Operation]:
    """The backup operations the service ``host`` left unfinished (with ``older_than``:
    those recorded over that many seconds ago)."""
    return [
        op for op in workers.pending(db, host, older_than)
        if op.resource_type == BACKUP and op.service_host == host
    ]  # fmt: skip


def stuck(db: Database, host: str, statuses: tuple[str, ...]) -> list[str]:
    """Backups of ``host`` in a transient status that no operation record claims."""
    with db.reader() as session:
        claimed = select(models.Worker.resource_id).where(models.Worker.resource_type == BACKUP)
        return list(
            session.scalars(
                select(models.Backup.id).where(
                    models.Backup.host == host,
                    models.Backup.status.in_(statuses),
                    models.Backup.id.not_in(claimed),
                )
            )
        )


def containers(db: Database) -> set[str]:
    with db.reader() as session:
        return {str(c) for c in session.scalars(select(models.Backup.container).distinct()) if c}


def existing_ids(db: Database, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    with db.reader() as session:
        return set(session.scalars(select(models.Backup.id).where(models.Backup.id.in_(ids))))


# -- the volume's own metadata, kept with the backup's objects --------------------------------
def volume_meta(db: Database, volume_id: str) -> dict[str, JSON]:
    """What a restore gives back besides the data: name, description, metadata and image
    metadata (upstream's backup metadata, version 2)."""
    with db.reader() as session:
        volume = session.get(models.Volume, volume_id)
        if volume is None:
            return {"version": META_VERSION}
        meta = dict(
            session.execute(
                select(models.VolumeMetadata.key, models.VolumeMetadata.value).where(
                    models.VolumeMetadata.volume_id == volume_id
                )
            )
            .tuples()
            .all()
        )
        glance = dict(
            session.execute(
                select(models.VolumeGlanceMetadata.key, models.VolumeGlanceMetadata.value).where(
                    models.VolumeGlanceMetadata.volume_id == volume_id
                )
            )
            .tuples()
            .all()
        )
        base: dict[str, JSON] = {
            "display_name": volume.display_name,
            "display_description": volume.display_description,
            "bootable": volume.bootable,
            "volume_type_id": volume.volume_type_id,
        }
        return {
            "version": META_VERSION,
            "volume-base-metadata": base,
            "volume-metadata": dict(meta),
            "volume-glance-metadata": dict(glance),
        }


def _apply_meta(session: Session, volume: models.Volume, meta: dict[str, JSON]) -> None:
    found = meta.get("volume-base-metadata")
    base: dict[str, JSON] = found if isinstance(found, dict) else {}
    name = volume.display_name or ""
    if base.get("display_name") and (not name or name.startswith("restore_backup_")):
        volume.display_name = str(base["display_name"])
        description = base.get("display_description")
        volume.display_description = None if description is None else str(description)
    user = meta.get("volume-metadata")
    if isinstance(user, dict):
        session.query(models.VolumeMetadata).filter(
            models.VolumeMetadata.volume_id == volume.id
        ).delete()
        for key, value in user.items():
            session.add(models.VolumeMetadata(volume_id=volume.id, key=key, value=str(value)))
    glance = meta.get("volume-glance-metadata")
    if isinstance(glance, dict) and glance:
        session.query(models.VolumeGlanceMetadata).filter(
            models.VolumeGlanceMetadata.volume_id == volume.id
        ).delete()
        for key, value in glance.items():
            session.add(models.VolumeGlanceMetadata(volume_id=volume.id, key=key, value=str(value)))
        volume.bootable = True
    elif base.get("bootable"):
        volume.bootable = True


# -- create -----------------------------------------------------------------------------------
def started(db: Database, backup_id: str, temp_snapshot_id: str | None) -> bool:
    """Record the temporary snapshot before it exists (so a crash finds it); False when
    the backup is no longer ``creating``."""

    def tx(session: Session) -> bool:
        row = session.get(models.Backup, backup_id)
        if row is None or row.status != "creating":
            return False
        row.temp_snapshot_id = temp_snapshot_id
        row.updated_at = utcnow()
        return True

    return db.write(tx)


def _args(session: Session, backup_id: str) -> dict[str, Any]:
    """The arguments the operation in flight on the backup recorded."""
    found = session.scalars(
        select(models.Worker).where(
            models.Worker.resource_type == BACKUP, models.Worker.resource_id == backup_id
        )
    ).first()
    return dict(found.args or {}) if found is not None else {}


def _release_source(session: Session, row: models.Backup, args: dict[str, Any]) -> None:
    """The volume back to its status before the backup, or the snapshot to available."""
    if row.snapshot_id:
        snap = session.get(models.Snapshot, row.snapshot_id)
        if snap is not None and snap.status == "backing-up":
            snap.status = "available"
            snap.updated_at = utcnow()
        return
    volume = session.get(models.Volume, row.volume_id)
    if volume is not None and volume.status == "backing-up":
        previous = args.get("previous_status")
        volume.status = str(previous or "available")
        volume.updated_at = utcnow()


def backed_up(
    db: Database, backup_id: str, *, container: str, service_metadata: str, object_count: int
) -> bool:
    def tx(session: Session) -> bool:
        row = session.get(models.Backup, backup_id)
        if row is None:
            return False
        _release_source(session, row, _args(session, backup_id))
        workers.finish(session, BACKUP, backup_id)
        if row.status != "creating":
            return False
        row.status = "available"
        row.container = container
        row.service_metadata = service_metadata
        row.object_count = object_count
        row.temp_snapshot_id = None
        row.fail_reason = None
        row.updated_at = utcnow()
        return True

    return db.write(tx)


def _message(
    session: Session, row: models.Backup, action: str, request_id: str | None, ttl: int
) -> None:
    messages.add(
        session,
        project_id=row.project_id,
        resource_type=messages.BACKUP,
        resource_uuid=row.id,
        action_id=action,
        detail_id=messages.UNKNOWN_ERROR,
        request_id=request_id,
        ttl=ttl,
    )


def backup_failed(
    db: Database, backup_id: str, reason: str, *, request_id: str | None, ttl: int
) -> None:
    """The backup is ``error`` (it keeps counting against the quota until deleted, as
    upstream); its volume or snapshot goes back."""

    def tx(session: Session) -> None:
        row = session.get(models.Backup, backup_id)
        if row is None:
            return
        _release_source(session, row, _args(session, backup_id))
        workers.finish(session, BACKUP, backup_id)
        row.status = "error"
        row.fail_reason = reason[:1000]
        row.temp_snapshot_id = None
        row.updated_at = utcnow()
        _message(session, row, messages.BACKUP_CREATE, request_id, ttl)

    db.write(tx)


# -- restore ----------------------------------------------------------------------------------
def restored(
    db: Database, backup_id: str, volume_id: str, meta: dict[str, JSON], *, ok: bool,
    request_id: str | None, ttl: int,
) -> None:  # fmt: skip
    """The restore ended: the backup ``available`` again; the volume ``available`` with
    the backed-up metadata, or ``error_restoring`` (``error`` for a new volume)."""

    def tx(session: Session) -> None:
        row = session.get(models.Backup, backup_id)
        is_new = bool(_args(session, backup_id).get("volume_is_new"))
        if row is not None and row.status == "restoring":
            row.status = "available"
            row.updated_at = utcnow()
        volume = session.get(models.Volume, volume_id)
        if volume is not None and volume.status == "restoring-backup":
            if ok:
                _apply_meta(session, volume, meta)
                if volume.launched_at is None:
                    volume.launched_at = utcnow()
            volume.status = "available" if ok else ("error" if is_new else "error_restoring")
            volume.updated_at = utcnow()
        if not ok and row is not None:
            _message(session, row, messages.BACKUP_RESTORE, request_id, ttl)
        workers.finish(session, BACKUP, backup_id)

    db.write(tx)


# -- delete and import ------------------------------------------------------------------------
def deleted(db: Database, backup_id: str) -> None:
    """The objects are gone: the row goes, its quota usage too, and its parent has one
    dependent less."""

    def tx(session: Session) -> None:
        row = session.get(models.Backup, backup_id)
        if row is not None:
            quotas.release(session, row.project_id, {"backups": 1, "backup_gigabytes": row.size})
            if row.parent_id:
                parent = session.get(models.Backup, row.parent_id)
                if parent is not None and parent.num_dependent_backups > 0:
                    parent.num_dependent_backups -= 1
            session.delete(row)
        workers.finish(session, BACKUP, backup_id)

    db.write(tx)


def delete_failed(
    db: Database, backup_id: str, reason: str, *, request_id: str | None, ttl: int
) -> None:
    def tx(session: Session) -> None:
        row = session.get(models.Backup, backup_id)
        if row is not None:
            row.status = "error_deleting"
            row.fail_reason = reason[:1000]
            row.updated_at = utcnow()
            _message(session, row, messages.BACKUP_DELETE, request_id, ttl)
        workers.finish(session, BACKUP, backup_id)

    db.write(tx)


def set_status(db: Database, backup_id: str, status: str, *, reason: str | None = None) -> None:
    def tx(session: Session) -> None:
        row = session.get(models.Backup, backup_id)
        if row is not None:
            row.status = status
            if reason is not None:
                row.fail_reason = reason[:1000]
            row.updated_at = utcnow()
        workers.finish(session, BACKUP, backup_id)

    db.write(tx)


@dataclass(frozen=True, slots=True)
class ImportedBackup:
    """An imported backup's columns, from its record as the stored objects confirm it."""

    volume_id: str
    container: str
    service_metadata: str | None
    object_count: int = 0
    snapshot_id: str | None = None
    display_name: str | None = None
    display_description: str | None = None
    parent_id: str | None = None
    availability_zone: str | None = None
    data_timestamp: datetime | None = None
    encryption_key_id: str | None = None
    #: the driver holding its objects, as the record names it
    service: str | None = None


def imported(db: Database, backup_id: str, found: ImportedBackup) -> bool:
    """Fill the imported backup from its record: ``available``."""

    def tx(session: Session) -> bool:
        row = session.get(models.Backup, backup_id)
        workers.finish(session, BACKUP, backup_id)
        if row is None or row.status != "creating":
            return False
        for name in ImportedBackup.__slots__:
            setattr(row, name, getattr(found, name))
        parent = session.get(models.Backup, row.parent_id) if row.parent_id else None
        if parent is None:
            row.parent_id = None
        else:
            parent.num_dependent_backups += 1
        row.status = "available"
        row.updated_at = utcnow()
        return True

    return db.write(tx)


#: the backup's columns an exported record carries
EXPORTED = ("id", "volume_id", "snapshot_id", "display_name", "display_description", "size",
            "object_count", "container", "parent_id", "availability_zone", "service_metadata",
            "encryption_key_id")  # fmt: skip


def export_fields(db: Database, backup_id: str) -> dict[str, JSON]:
    """The columns an exported record carries (upstream's encoded backup row)."""
    with db.reader() as session:
        row = session.get(models.Backup, backup_id)
        if row is None:
            raise LookupError(f"backup {backup_id} is gone")
        data: dict[str, JSON] = {name: getattr(row, name) for name in EXPORTED}
        stamp = row.data_timestamp
        data["data_timestamp"] = stamp.isoformat() if stamp is not None else None
        return data


# -- a volume created from a backup (3.47) ------------------------------------------------------
def claim_restore(db: Database, backup_id: str, volume_id: str) -> str:
    """The new volume's data exists (empty): the backup becomes ``restoring`` into it and
    the volume ``restoring-backup`` (its create is over, the restore is the backup
    service's to finish: ``available``, or ``error``); returns the backup's service."""

    def tx(session: Session) -> str:
        row = session.get(models.Backup, backup_id)
        volume = session.get(models.Volume, volume_id)
        if row is None or volume is None:
            raise LookupError(f"backup {backup_id} or volume {volume_id} is gone")
        again = row.status == "restoring" and row.restore_volume_id == volume_id
        if row.status != "available" and not again:
            raise RuntimeError(f"backup {backup_id} is {row.status}, not available")
        if not row.host:
            raise RuntimeError(f"backup {backup_id} has no backup service")
        now = utcnow()
        row.status = "restoring"
        row.restore_volume_id = volume_id
        row.updated_at = now
        volume.status = "restoring-backup"
        volume.updated_at = now
        workers.finish(session, "Volume", volume_id)
        args: dict[str, JSON] = {"volume_id": volume_id, "volume_is_new": True}
        workers.begin(session, BACKUP, backup_id, "restoring", "restore", row.host, args)
        return row.host

    return db.write(tx)


def claimed_prefixes(db: Database) -> set[str]:
    """Every object prefix a backup row points at (an imported copy shares its
    original's)."""
    with db.reader() as session:
        return {
            str(p) for p in session.scalars(select(models.Backup.service_metadata).distinct()) if p
        }
