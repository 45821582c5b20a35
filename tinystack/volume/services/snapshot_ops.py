"""The workers' side of a snapshot's life: what the manager reads, and the transitions it
makes when an operation ends, each in one transaction with its ``workers`` entry (and,
for a failure, a user message)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.common.timeutils import utcnow
from tinystack.volume import models
from tinystack.volume.services import messages, workers

SNAPSHOT = "Snapshot"


@dataclass(frozen=True, slots=True)
class SnapshotState:
    """A snapshot as the manager needs it, with its volume's placement."""

    id: str
    volume_id: str
    volume_size: int
    status: str
    provider_location: str | None
    project_id: str
    #: the volume's ``host@backend#pool`` (None: the volume is gone)
    volume_host: str | None
    volume_status: str | None


def _state(session: Session, snap: models.Snapshot) -> SnapshotState:
    volume = session.get(models.Volume, snap.volume_id)
    return SnapshotState(
        id=snap.id,
        volume_id=snap.volume_id,
        volume_size=snap.volume_size,
        status=snap.status,
        provider_location=snap.provider_location,
        project_id=snap.project_id,
        volume_host=volume.host if volume is not None else None,
        volume_status=volume.status if volume is not None else None,
    )


def get(db: Database, snapshot_id: str) -> SnapshotState | None:
    with db.reader() as session:
        snap = session.get(models.Snapshot, snapshot_id)
        return _state(session, snap) if snap is not None else None


def on_backend(db: Database, backend: str) -> list[SnapshotState]:
    """Every snapshot of a volume placed on ``host@backend``."""
    with db.reader() as session:
        volumes = select(models.Volume.id).where(
            (models.Volume.host == backend) | models.Volume.host.startswith(backend + "#")
        )
        rows = session.scalars(
            select(models.Snapshot).where(models.Snapshot.volume_id.in_(volumes))
        )
        return [_state(session, snap) for snap in rows]


def known_ids(db: Database, ids: list[str]) -> set[str]:
    """Of ``ids``, those a snapshot row or a backup's temporary snapshot claims."""
    if not ids:
        return set()
    with db.reader() as session:
        found = set(session.scalars(select(models.Snapshot.id).where(models.Snapshot.id.in_(ids))))
        found |= {
            str(t)
            for t in session.scalars(
                select(models.Backup.temp_snapshot_id).where(
                    models.Backup.temp_snapshot_id.in_(ids)
                )
            )
        }
        return found


def created(db: Database, snapshot_id: str, provider_location: str | None) -> bool:
    """The driver made the snapshot: ``available`` at 100%. False when it is no longer
    ``creating`` (deleted or reset meanwhile)."""

    def tx(session: Session) -> bool:
        snap = session.get(models.Snapshot, snapshot_id)
        if snap is None or snap.status != "creating":
            return False
        snap.status = "available"
        snap.progress = "100%"
        snap.provider_location = provider_location
        snap.updated_at = utcnow()
        workers.finish(session, SNAPSHOT, snapshot_id)
        return True

    return db.write(tx)


def failed(
    db: Database,
    snapshot_id: str,
    status: str,
    *,
    action: str,
    request_id: str | None,
    ttl: int,
    expected: tuple[str, ...],
) -> None:
    """The operation failed: the snapshot in ``status`` (from ``expected`` only) with a
    user message for its project."""

    def tx(session: Session) -> None:
        snap = session.get(models.Snapshot, snapshot_id)
        if snap is None or snap.status not in expected:
            return
        snap.status = status
        snap.updated_at = utcnow()
        messages.add(
            session,
            project_id=snap.project_id,
            resource_type=messages.SNAPSHOT,
            resource_uuid=snap.id,
            action_id=action,
            detail_id=messages.UNKNOWN_ERROR,
            request_id=request_id,
            ttl=ttl,
        )
        workers.finish(session, SNAPSHOT, snapshot_id)

    db.write(tx)


def reverted(db: Database, volume_id: str, snapshot_id: str, *, ok: bool) -> None:
    """A revert ended: the snapshot ``available`` again, the volume ``available`` (or
    ``error`` when the driver failed)."""

    def tx(session: Session) -> None:
        snap = session.get(models.Snapshot, snapshot_id)
        if snap is not None and snap.status == "restoring":
            snap.status = "available"
            snap.updated_at = utcnow()
        volume = session.get(models.Volume, volume_id)
        if volume is not None and volume.status == "reverting":
            volume.status = "available" if ok else "error"
            volume.updated_at = utcnow()
        workers.finish(session, SNAPSHOT, snapshot_id)

    db.write(tx)


def pending(db: Database, backend: str) -> list[workers.Operation]:
    """The snapshot operations ``host@backend`` left unfinished."""
    return [op for op in workers.pending(db, backend) if op.resource_type == SNAPSHOT]
