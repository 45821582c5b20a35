"""The services table: cinder-scheduler and cinder-volume (one per backend) records,
their heartbeats and reported capabilities; enable/disable, freeze/thaw (os-services)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.common.rpc.payload import JSON
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models, rpcapi
from tinystack.volume.services import _rows
from tinystack.volume.services.records import ServiceRecord

SCHEDULER_BINARY = "cinder-scheduler"
VOLUME_BINARY = "cinder-volume"


@dataclass(frozen=True, slots=True)
class ServiceFilter:
    host: str | None = None
    binary: str | None = None


def is_up(heartbeat_at: datetime | None, down_time: int, now: datetime | None = None) -> bool:
    if heartbeat_at is None:
        return False
    return (now or utcnow()) - heartbeat_at <= timedelta(seconds=down_time)


def record(row: models.Service, down_time: int, now: datetime | None = None) -> ServiceRecord:
    return ServiceRecord(
        id=row.id,
        uuid=row.uuid,
        host=row.host,
        binary=row.binary,
        topic=row.topic,
        availability_zone=row.availability_zone,
        disabled=row.disabled,
        disabled_reason=row.disabled_reason,
        frozen=row.frozen,
        heartbeat_at=row.heartbeat_at,
        up=is_up(row.heartbeat_at, down_time, now),
        replication_status=row.replication_status,
        active_backend_id=row.active_backend_id,
        cluster_name=row.cluster_name,
        created_at=row.created_at,
        updated_at=row.updated_at,
        capabilities=row.capabilities,
    )


def ensure(db: Database, host: str, binary: str, topic: str, zone: str) -> ServiceRecord:
    """The service's row, created or (its zone) refreshed; beats once."""

    def tx(session: Session) -> ServiceRecord:
        row = session.scalars(
            select(models.Service).where(
                models.Service.host == host, models.Service.binary == binary
            )
        ).first()
        now = utcnow()
        if row is None:
            row = models.Service(
                uuid=str(uuid.uuid4()),
                host=host,
                binary=binary,
                topic=topic,
                availability_zone=zone,
                created_at=now,
                report_count=0,
            )
            session.add(row)
        row.availability_zone = zone
        row.heartbeat_at = now
        row.updated_at = now
        row.rpc_current_version = rpcapi.VERSIONS.get(topic)  # what this code serves
        session.flush()
        return record(row, 60, now)

    return db.write(tx)


def heartbeat(db: Database, service_id: int, capabilities: dict[str, JSON] | None = None) -> None:
    """Beat; a volume service also reports its backend's capabilities (pools)."""

    def tx(session: Session) -> None:
        row = session.get(models.Service, service_id)
        if row is None:
            return
        now = utcnow()
        row.heartbeat_at = now
        row.report_count = (row.report_count or 0) + 1
        if capabilities is not None:
            row.capabilities = capabilities
        row.updated_at = now

    db.write(tx)


def list_services(db: Database, down_time: int, filters: ServiceFilter) -> list[ServiceRecord]:
    with db.reader() as session:
        query = select(models.Service).order_by(models.Service.id)
        if filters.host:
            query = query.where(
                (models.Service.host == filters.host)
                | models.Service.host.startswith(filters.host + "@")
            )
        if filters.binary:
            query = query.where(models.Service.binary == filters.binary)
        now = utcnow()
        return [record(row, down_time, now) for row in session.scalars(query)]


def set_disabled(
    db: Database, host: str, binary: str, disabled: bool, reason: str | None, down_time: int
) -> ServiceRecord:
    def tx(session: Session) -> ServiceRecord:
        row = _find(session, host, binary)
        row.disabled = disabled
        row.disabled_reason = reason if disabled else None
        row.updated_at = utcnow()
        session.flush()
        return record(row, down_time)

    return db.write(tx)


def set_frozen(db: Database, host: str, frozen: bool) -> None:
    """Freeze (no more changes to the backend's volumes) or thaw a volume backend."""

    def tx(session: Session) -> None:
        rows = [
            row
            for row in _rows.volume_service_rows(session)
            if row.host == host or row.host.partition("@")[0] == host
        ]
        if not rows:
            raise exception.Invalid(f"Host {host} could not be found.")
        for row in rows:
            if frozen and row.frozen:
                raise exception.Invalid("Volume service already frozen.")
            if not frozen and not row.frozen:
                raise exception.Invalid("Volume service is not frozen.")
            row.frozen = frozen
            row.updated_at = utcnow()

    db.write(tx)


def _find(session: Session, host: str, binary: str) -> models.Service:
    row = session.scalars(
        select(models.Service).where(models.Service.host == host, models.Service.binary == binary)
    ).first()
    if row is None:
        raise exception.ServiceNotFound(service_id=f"{binary} on host {host}")
    return row


def frozen_hosts(session: Session) -> set[str]:
    return {row.host for row in _rows.volume_service_rows(session) if row.frozen}


def zones(db: Database, down_time: int) -> dict[str, bool]:
    """Zone -> whether an enabled volume service in it is up."""
    with db.reader() as session:
        found: dict[str, bool] = {}
        now = utcnow()
        for row in _rows.volume_service_rows(session):
            working = not row.disabled and is_up(row.heartbeat_at, down_time, now)
            found[row.availability_zone] = found.get(row.availability_zone, False) or working
        return found
