"""Host aggregates: membership, metadata (availability zones), mirrored into placement."""

from __future__ import annotations

import logging
import uuid as uuidlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tinystack.common.clients.session import ClientError
from tinystack.common.exceptions import BadRequest, Conflict, NotFound
from tinystack.common.timeutils import utcnow
from tinystack.compute import exception, models
from tinystack.compute.services import hosts
from tinystack.compute.services.deps import Deps

LOG = logging.getLogger(__name__)
AZ_KEY = "availability_zone"


@dataclass(frozen=True, slots=True)
class AggregateRecord:
    id: int
    uuid: str
    name: str
    created_at: datetime
    updated_at: datetime | None
    hosts: list[str]
    metadata: dict[str, str]


def _load(session: Session, aggregate_id: str | int) -> models.Aggregate:
    found = None
    if str(aggregate_id).isdigit():
        found = session.get(models.Aggregate, int(aggregate_id))
    if found is None:
        raise exception.AggregateNotFound(aggregate_id)
    return found


def _view(session: Session, row: models.Aggregate) -> AggregateRecord:
    members = sorted(
        session.scalars(
            select(models.AggregateHost.host).where(models.AggregateHost.aggregate_id == row.id)
        )
    )
    meta = {
        m.key: m.value
        for m in session.scalars(
            select(models.AggregateMetadata).where(models.AggregateMetadata.aggregate_id == row.id)
        )
    }
    return AggregateRecord(
        id=row.id,
        uuid=row.uuid,
        name=row.name,
        created_at=row.created_at,
        updated_at=row.updated_at,
        hosts=members,
        metadata=meta,
    )


def list_all(deps: Deps) -> list[AggregateRecord]:
    with deps.db.reader() as session:
        return [
            _view(session, r)
            for r in session.scalars(select(models.Aggregate).order_by(models.Aggregate.id))
        ]


def get(deps: Deps, aggregate_id: str) -> AggregateRecord:
    with deps.db.reader() as session:
        return _view(session, _load(session, aggregate_id))


def _check_zone(deps: Deps, zone: str | None) -> None:
    if zone is not None and zone == deps.opts.internal_service_availability_zone:
        raise BadRequest("Aggregate action failed: cannot use the internal availability zone.")


def _unique_name(session: Session, name: str, exclude: int | None = None) -> None:
    found = session.scalars(select(models.Aggregate).where(models.Aggregate.name == name)).first()
    if found is not None and found.id != exclude:
        raise Conflict(f"Aggregate {name} already exists.")


def create(deps: Deps, name: str, zone: str | None) -> AggregateRecord:
    _check_zone(deps, zone)

    def write(session: Session) -> AggregateRecord:
        _unique_name(session, name)
        row = models.Aggregate(uuid=str(uuidlib.uuid4()), name=name, created_at=utcnow())
        session.add(row)
        session.flush()
        if zone:
            session.add(models.AggregateMetadata(aggregate_id=row.id, key=AZ_KEY, value=zone))
        session.flush()
        return _view(session, row)

    return deps.db.write(write)


def update(deps: Deps, aggregate_id: str, name: str | None, zone: Any) -> AggregateRecord:
    _check_zone(deps, zone if isinstance(zone, str) else None)

    def write(session: Session) -> AggregateRecord:
        row = _load(session, aggregate_id)
        if name is not None:
            _unique_name(session, name, exclude=row.id)
            row.name = name
        if zone is not ...:
            _set_meta(session, row, {AZ_KEY: zone})
        row.updated_at = utcnow()
        session.flush()
        return _view(session, row)

    return deps.db.write(write)


def _set_meta(session: Session, row: models.Aggregate, values: dict[str, Any]) -> None:
    for key, value in values.items():
        existing = session.get(models.AggregateMetadata, (row.id, key))
        if value is None:
            if existing is not None:
                session.delete(existing)
        elif existing is None:
            session.add(models.AggregateMetadata(aggregate_id=row.id, key=key, value=str(value)))
        else:
            existing.value = str(value)


def _zone_conflict(session: Session, row: models.Aggregate, host: str, zone: str | None) -> None:
    """A host may be in one availability zone only."""
    if zone is None:
        return
    others = (
        session.execute(
            select(models.AggregateMetadata.value)
            .join(
                models.AggregateHost,
                models.AggregateHost.aggregate_id == models.AggregateMetadata.aggregate_id,
            )
            .where(
                models.AggregateHost.host == host,
                models.AggregateMetadata.key == AZ_KEY,
                models.AggregateMetadata.aggregate_id != row.id,
            )
        )
        .scalars()
        .all()
    )
    conflicting = sorted({z for z in others if z != zone})
    if conflicting:
        raise Conflict(
            f"Cannot add host to aggregate {row.id}. Reason: One or more hosts already in "
            f"availability zone(s) {conflicting}."
        )


def set_metadata(deps: Deps, aggregate_id: str, values: dict[str, str | None]) -> AggregateRecord:
    if AZ_KEY in values:
        _check_zone(deps, values[AZ_KEY])

    def write(session: Session) -> AggregateRecord:
        row = _load(session, aggregate_id)
        if values.get(AZ_KEY):
            view = _view(session, row)
            for host in view.hosts:
                _zone_conflict(session, row, host, values[AZ_KEY])
        _set_meta(session, row, values)
        row.updated_at = utcnow()
        session.flush()
        return _view(session, row)

    return deps.db.write(write)


def add_host(deps: Deps, aggregate_id: str, host: str) -> AggregateRecord:
    try:
        hosts.find_service(deps.db, host, hosts.COMPUTE_BINARY)
    except exception.ComputeHostNotFound:
        raise exception.ComputeHostNotFound(host) from None

    def write(session: Session) -> AggregateRecord:
        row = _load(session, aggregate_id)
        if session.get(models.AggregateHost, (row.id, host)) is not None:
            raise Conflict(f"Aggregate {row.id} already has host {host}.")
        zone = _view(session, row).metadata.get(AZ_KEY)
        _zone_conflict(session, row, host, zone)
        session.add(models.AggregateHost(aggregate_id=row.id, host=host))
        row.updated_at = utcnow()
        session.flush()
        return _view(session, row)

    view = deps.db.write(write)
    _mirror(deps, host, add=[view.uuid])
    return view


def remove_host(deps: Deps, aggregate_id: str, host: str) -> AggregateRecord:
    def write(session: Session) -> AggregateRecord:
        row = _load(session, aggregate_id)
        found = session.get(models.AggregateHost, (row.id, host))
        if found is None:
            raise NotFound(f"Cannot remove host {host} in aggregate {row.id}")
        session.delete(found)
        row.updated_at = utcnow()
        session.flush()
        return _view(session, row)

    view = deps.db.write(write)
    _mirror(deps, host, remove=[view.uuid])
    return view


def _mirror(
    deps: Deps, host: str, add: list[str] | None = None, remove: list[str] | None = None
) -> None:
    """Keep the host's resource provider in the same placement aggregates."""
    node = hosts.node_uuids(deps.db, [host]).get(host)
    if node is None:
        return
    try:
        deps.placement.update_aggregates(node, add=add or [], remove=remove or [])
    except ClientError as exc:
        LOG.warning("cannot mirror aggregates of %s to placement: %s", host, exc)


def destroy(deps: Deps, aggregate_id: str) -> None:
    def write(session: Session) -> None:
        row = _load(session, aggregate_id)
        if _view(session, row).hosts:
            raise BadRequest(
                f"Cannot remove aggregate {row.id}. Reason: Host aggregate is not empty."
            )
        session.execute(
            delete(models.AggregateMetadata).where(models.AggregateMetadata.aggregate_id == row.id)
        )
        session.delete(row)

    deps.db.write(write)
