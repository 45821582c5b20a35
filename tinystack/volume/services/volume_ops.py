"""The workers' side of a volume's life: the transitions the scheduler and the manager
make when an operation ends, each in one transaction with its quota and ``workers``
bookkeeping, and the reads they need."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.common.timeutils import utcnow
from tinystack.volume import models
from tinystack.volume.services import _rows, groups, messages, quotas, workers
from tinystack.volume.services.records import VolumeRecord


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    id: str
    volume_id: str
    volume_size: int
    provider_location: str | None
    status: str


def fail(
    session: Session,
    row: models.Volume,
    *,
    status: str,
    action: str,
    detail: str,
    request_id: str | None,
    ttl: int,
) -> None:
    """Put the volume in ``status`` with a user message; its operation is over."""
    row.status = status
    row.updated_at = utcnow()
    messages.add(
        session,
        project_id=row.project_id,
        resource_type=messages.VOLUME,
        resource_uuid=row.id,
        action_id=action,
        detail_id=detail,
        request_id=request_id,
        ttl=ttl,
    )
    workers.finish(session, "Volume", row.id)


def get(db: Database, volume_id: str) -> VolumeRecord | None:
    with db.reader() as session:
        row = session.get(models.Volume, volume_id)
        return _rows.volume_record(session, row) if row is not None else None


def mark_failed(
    db: Database,
    volume_id: str,
    *,
    status: str,
    action: str,
    detail: str,
    request_id: str | None,
    ttl: int,
    reservations: tuple[str, ...] = (),
) -> None:
    def tx(session: Session) -> None:
        quotas.rollback(session, reservations)
        row = session.get(models.Volume, volume_id)
        if row is not None:
            fail(session, row, status=status, action=action, detail=detail,
                 request_id=request_id, ttl=ttl)  # fmt: skip

    db.write(tx)


def set_status(
    db: Database, volume_id: str, status: str, *, expected: tuple[str, ...] = ()
) -> bool:
    """Move the volume to ``status`` (only from ``expected`` when given); its operation is
    over. False when the volume is gone or was not in an expected status."""

    def tx(session: Session) -> bool:
        row = session.get(models.Volume, volume_id)
        if row is None or (expected and row.status not in expected):
            return False
        row.status = status
        row.updated_at = utcnow()
        workers.finish(session, "Volume", volume_id)
        return True

    return db.write(tx)


def created(db: Database, volume_id: str, provider_location: str | None) -> bool:
    """The driver made the volume: ``available``. False when it was deleted meanwhile."""

    def tx(session: Session) -> bool:
        row = session.get(models.Volume, volume_id)
        if row is None or row.status not in ("creating", "downloading"):
            return False
        row.status = "available"
        row.provider_location = provider_location
        row.launched_at = utcnow()
        row.updated_at = utcnow()
        workers.finish(session, "Volume", volume_id)
        return True

    return db.write(tx)


def set_downloading(db: Database, volume_id: str) -> bool:
    def tx(session: Session) -> bool:
        row = session.get(models.Volume, volume_id)
        if row is None or row.status != "creating":
            return False
        row.status = "downloading"
        row.updated_at = utcnow()
        if row.host:
            workers.begin(session, "Volume", volume_id, "downloading", "create", row.host)
        return True

    return db.write(tx)


def deleted(db: Database, volume_id: str) -> None:
    """The backend data is gone: release the quota and remove the row (and its
    metadata, attachments' leftovers and transfer)."""

    def tx(session: Session) -> None:
        row = session.get(models.Volume, volume_id)
        if row is not None:
            type_name = None
            if row.volume_type_id:
                vtype = session.get(models.VolumeType, row.volume_type_id)
                type_name = vtype.name if vtype is not None else None
            if row.use_quota:
                quotas.release(session, row.project_id, quotas.volume_deltas(row.size, type_name))
            session.execute(
                delete(models.VolumeGlanceMetadata).where(
                    models.VolumeGlanceMetadata.volume_id == volume_id
                )
            )
            group_id = row.group_id
            session.delete(row)
            session.flush()
            if group_id:
                _group_emptied(session, group_id)
        workers.finish(session, "Volume", volume_id)

    db.write(tx)


def _group_emptied(session: Session, group_id: str) -> None:
    """A group being deleted goes with its last volume."""
    group = session.get(models.Group, group_id)
    if group is None or group.status != "deleting":
        return
    left = session.scalar(
        select(func.count()).select_from(models.Volume).where(models.Volume.group_id == group_id)
    )
    if not left:
        groups.forget(session, group)


def extended(
    db: Database, volume_id: str, new_size: int, reservations: tuple[str, ...], status: str
) -> None:
    """The driver grew the volume: commit the quota, the new size, back to ``status``."""

    def tx(session: Session) -> None:
        quotas.commit(session, reservations)
        row = session.get(models.Volume, volume_id)
        if row is None:
            return
        row.size = new_size
        row.status = status
        row.updated_at = utcnow()
        workers.finish(session, "Volume", volume_id)

    db.write(tx)


def type_is_multiattach(db: Database, type_id: str) -> bool:
    with db.reader() as session:
        return _rows.is_multiattach_type(session, type_id)


def retyped(
    db: Database,
    volume_id: str,
    new_type_id: str,
    reservations: tuple[str, ...],
    status: str,
    provider_location: str | None = None,
) -> None:
    def tx(session: Session) -> None:
        quotas.commit(session, reservations)
        row = session.get(models.Volume, volume_id)
        if row is None:
            return
        vtype = session.get(models.VolumeType, new_type_id)
        row.volume_type_id = new_type_id
        if vtype is not None:
            row.multiattach = _rows.is_multiattach_type(session, new_type_id)
        if provider_location is not None:
            row.provider_location = provider_location
        row.status = status
        row.updated_at = utcnow()
        workers.finish(session, "Volume", volume_id)

    db.write(tx)


def retype_failed(db: Database, volume_id: str, reservations: tuple[str, ...], status: str) -> None:
    """The type stays; the reservations go and the volume gets its status back."""

    def tx(session: Session) -> None:
        quotas.rollback(session, reservations)
        row = session.get(models.Volume, volume_id)
        if row is not None and row.status == "retyping":
            row.status = status
            row.updated_at = utcnow()
        workers.finish(session, "Volume", volume_id)

    db.write(tx)


def rollback(db: Database, reservations: tuple[str, ...]) -> None:
    def tx(session: Session) -> None:
        quotas.rollback(session, reservations)

    db.write(tx)


def allocated_per_pool(db: Database, backend: str) -> dict[str, int]:
    """GiB of the volumes placed on each pool of ``host@backend``."""
    with db.reader() as session:
        rows = session.execute(
            select(models.Volume.host, func.sum(models.Volume.size))
            .where(models.Volume.host.startswith(backend + "#"))
            .group_by(models.Volume.host)
        )
        return {str(host).partition("#")[2]: int(total or 0) for host, total in rows}


def volume_ids_on(db: Database, backend: str) -> set[str]:
    """Every volume the database places on ``host@backend`` (any status)."""
    with db.reader() as session:
        return set(
            session.scalars(
                select(models.Volume.id).where(
                    (models.Volume.host == backend) | models.Volume.host.startswith(backend + "#")
                )
            )
        )


def claimed_ids(db: Database, ids: list[str]) -> set[str]:
    """Of ``ids``, those a volume row has (wherever it is placed, or not yet placed)."""
    with db.reader() as session:
        return set(session.scalars(select(models.Volume.id).where(models.Volume.id.in_(ids))))


# -- snapshots deleted along with their volume (cascade) -------------------------------------
def snapshots_of(db: Database, volume_id: str) -> list[SnapshotInfo]:
    with db.reader() as session:
        return [
            SnapshotInfo(s.id, s.volume_id, s.volume_size, s.provider_location, s.status)
            for s in session.scalars(
                select(models.Snapshot).where(models.Snapshot.volume_id == volume_id)
            )
        ]


def snapshot(db: Database, snapshot_id: str) -> SnapshotInfo | None:
    with db.reader() as session:
        s = session.get(models.Snapshot, snapshot_id)
        if s is None:
            return None
        return SnapshotInfo(s.id, s.volume_id, s.volume_size, s.provider_location, s.status)


def snapshot_deleted(db: Database, snapshot_id: str) -> None:
    """The snapshot's data is gone: release its quota and remove its row."""

    def tx(session: Session) -> None:
        snap = session.get(models.Snapshot, snapshot_id)
        if snap is None:
            return
        type_name = None
        if snap.volume_type_id:
            vtype = session.get(models.VolumeType, snap.volume_type_id)
            type_name = vtype.name if vtype is not None else None
        if snap.use_quota:
            deltas = {"snapshots": 1, "gigabytes": snap.volume_size}
            if type_name:
                deltas[f"snapshots_{type_name}"] = 1
                deltas[f"gigabytes_{type_name}"] = snap.volume_size
            quotas.release(session, snap.project_id, deltas)
        session.delete(snap)
        workers.finish(session, "Snapshot", snapshot_id)

    db.write(tx)


def unowned(db: Database, backend: str, statuses: tuple[str, ...]) -> list[str]:
    """Volumes of ``host@backend`` in one of ``statuses`` that no operation record
    claims (left behind by a crash between two transactions)."""
    with db.reader() as session:
        tracked = select(models.Worker.resource_id).where(models.Worker.resource_type == "Volume")
        return list(
            session.scalars(
                select(models.Volume.id).where(
                    models.Volume.host.startswith(backend + "#"),
                    models.Volume.status.in_(statuses),
                    models.Volume.id.not_in(tracked),
                )
            )
        )


def forget_operation(db: Database, resource_type: str, resource_id: str) -> None:
    def tx(session: Session) -> None:
        workers.finish(session, resource_type, resource_id)

    db.write(tx)
