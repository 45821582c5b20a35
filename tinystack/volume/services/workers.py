"""Long operations in flight (the ``workers`` table, upstream's cleanup records).

Whoever moves a resource into a transient status (``creating``, ``deleting``,
``extending``, ``retyping``, ``uploading``, ``downloading``, ...) records the operation
in the same transaction (:func:`begin`); whoever settles it removes the record
(:func:`finish`). A manager that starts finds what its backend left behind
(:func:`pending`) and finishes or fails each; the scheduler re-schedules creates that
never reached a backend. While they run, the scheduler and each backend also take up
every ``[volume] lost_operation_age`` the operations of theirs that nobody is running
any more (a message or a write lost to a broker or database fault).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.common.rpc.payload import JSON
from tinystack.common.timeutils import utcnow
from tinystack.volume import models


@dataclass(frozen=True, slots=True)
class Operation:
    resource_type: str
    resource_id: str
    status: str
    operation: str
    service_host: str | None
    args: dict[str, JSON]
    created_at: datetime
    updated_at: datetime | None


def begin(
    session: Session,
    resource_type: str,
    resource_id: str,
    status: str,
    operation: str,
    service_host: str | None,
    args: dict[str, JSON] | None = None,
) -> None:
    """Record (or replace) the operation running on the resource."""
    row = session.scalars(
        select(models.Worker).where(
            models.Worker.resource_type == resource_type,
            models.Worker.resource_id == resource_id,
        )
    ).first()
    now = utcnow()
    if row is None:
        row = models.Worker(resource_type=resource_type, resource_id=resource_id, created_at=now)
        session.add(row)
    row.status = status
    row.operation = operation
    row.service_host = service_host
    row.args = dict(args or {})
    row.updated_at = now


def finish(session: Session, resource_type: str, resource_id: str) -> None:
    session.execute(
        delete(models.Worker).where(
            models.Worker.resource_type == resource_type,
            models.Worker.resource_id == resource_id,
        )
    )


def finish_if(session: Session, resource_type: str, resource_id: str, operation: str) -> None:
    """Remove the resource's record if it still records ``operation``."""
    session.execute(
        delete(models.Worker).where(
            models.Worker.resource_type == resource_type,
            models.Worker.resource_id == resource_id,
            models.Worker.operation == operation,
        )
    )


def _operation(row: models.Worker) -> Operation:
    return Operation(
        resource_type=row.resource_type,
        resource_id=row.resource_id,
        status=row.status,
        operation=row.operation,
        service_host=row.service_host,
        args=dict(row.args or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def pending(
    db: Database, service_host: str | None, older_than: float | None = None
) -> list[Operation]:
    """Operations of the backend ``host@backend`` (None: never scheduled), oldest first;
    with ``older_than``, only those not updated for that many seconds."""
    with db.reader() as session:
        query = select(models.Worker).order_by(models.Worker.created_at)
        if older_than is not None:
            cutoff = utcnow() - timedelta(seconds=older_than)
            touched = func.coalesce(models.Worker.updated_at, models.Worker.created_at)
            query = query.where(touched <= cutoff)
        if service_host is None:
            query = query.where(models.Worker.service_host.is_(None))
        else:
            query = query.where(
                (models.Worker.service_host == service_host)
                | models.Worker.service_host.startswith(service_host + "#")
            )
        return [_operation(row) for row in session.scalars(query)]


def get(db: Database, resource_type: str, resource_id: str) -> Operation | None:
    with db.reader() as session:
        row = session.scalars(
            select(models.Worker).where(
                models.Worker.resource_type == resource_type,
                models.Worker.resource_id == resource_id,
            )
        ).first()
        return _operation(row) if row is not None else None
