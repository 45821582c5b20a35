"""``POST /workers/cleanup`` (3.24): which services a cleanup request reaches.

A volume service that is up replays the operations its workers records show (those
recorded before the request; the replay is the restart recovery's, each operation
re-checking its resource's status under the volume's lock, so one still running is not
disturbed). A service that is down cannot be asked (this deployment has no clusters
whose other members could clean for it), nor can a scheduler or a backup service (their
recovery runs when they start): all these are ``unavailable``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from tinystack.common.db import Database
from tinystack.volume import exception, models
from tinystack.volume.services import os_services

__all__ = ["CleanupFilter", "CleanupTarget", "locate", "targets"]


@dataclass(frozen=True, slots=True)
class CleanupFilter:
    service_id: int | None = None
    cluster_name: str | None = None
    host: str | None = None
    binary: str | None = None
    #: upstream's default: services that are down
    is_up: bool = False
    disabled: bool | None = None


@dataclass(frozen=True, slots=True)
class CleanupTarget:
    id: int
    host: str
    binary: str
    cluster_name: str | None
    #: a cleanup can be sent to it
    reachable: bool


def locate(db: Database, resource_id: str, resource_type: str | None) -> tuple[str, str]:
    """The one workers record of a resource: (resource_type, service host)."""
    with db.reader() as session:
        query = select(models.Worker).where(models.Worker.resource_id == resource_id)
        if resource_type:
            query = query.where(models.Worker.resource_type == resource_type)
        rows = list(session.scalars(query))
    if not rows or rows[0].service_host is None:
        raise exception.InvalidInput(
            reason=f"There is no resource with UUID {resource_id} pending cleanup."
        )
    if len(rows) > 1:
        raise exception.InvalidInput(
            reason=f"There are multiple resources with UUID {resource_id} pending cleanup. "
            "Please be more specific."
        )
    return rows[0].resource_type, rows[0].service_host.partition("#")[0]


def targets(db: Database, down_time: int, wanted: CleanupFilter) -> list[CleanupTarget]:
    with db.reader() as session:
        query = select(models.Service).order_by(models.Service.id)
        if wanted.service_id is not None:
            query = query.where(models.Service.id == wanted.service_id)
        if wanted.cluster_name is not None:
            query = query.where(models.Service.cluster_name == wanted.cluster_name)
        if wanted.host is not None:
            query = query.where(models.Service.host == wanted.host.partition("#")[0])
        if wanted.binary:
            query = query.where(models.Service.binary == wanted.binary)
        if wanted.disabled is not None:
            query = query.where(models.Service.disabled == wanted.disabled)
        rows = list(session.scalars(query))
    found = []
    for row in rows:
        up = os_services.is_up(row.heartbeat_at, down_time)
        if up != wanted.is_up:
            continue
        reachable = up and row.binary == os_services.VOLUME_BINARY
        found.append(CleanupTarget(row.id, row.host, row.binary, row.cluster_name, reachable))
    return found
