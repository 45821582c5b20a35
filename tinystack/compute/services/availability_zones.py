"""Availability zones: aggregate metadata, the default zone, the internal zone."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from tinystack.common.db import Database
from tinystack.common.exceptions import BadRequest
from tinystack.compute import models
from tinystack.compute.services import hosts
from tinystack.compute.services.deps import Deps


@dataclass(frozen=True)
class ZoneHost:
    host: str
    binary: str
    available: bool
    active: bool
    updated_at: str | None


def host_zones(db: Database, default_zone: str) -> dict[str, str]:
    """host -> availability zone, for hosts in an aggregate with an AZ."""
    with db.reader() as session:
        rows = session.execute(
            select(models.AggregateHost.host, models.AggregateMetadata.value).join(
                models.AggregateMetadata,
                (models.AggregateMetadata.aggregate_id == models.AggregateHost.aggregate_id)
                & (models.AggregateMetadata.key == "availability_zone"),
            )
        ).all()
    zones: dict[str, list[str]] = defaultdict(list)
    for host, zone in rows:
        zones[host].append(zone)
    return {host: ",".join(sorted(set(z))) for host, z in zones.items()}


def zone_of(db: Database, host: str | None, default_zone: str) -> str:
    if not host:
        return default_zone
    return host_zones(db, default_zone).get(host, default_zone)


def zones(deps: Deps) -> tuple[dict[str, list[ZoneHost]], list[str]]:
    """(available zone -> its services, zones with no available compute service)."""
    opts = deps.opts
    mapping = host_zones(deps.db, opts.default_availability_zone)
    up = hosts.service_up_checker(opts)
    available: dict[str, list[ZoneHost]] = defaultdict(list)
    unavailable: set[str] = set()
    for svc in hosts.list_services(deps.db):
        if svc.binary == "nova-compute":
            zone = mapping.get(svc.host, opts.default_availability_zone)
        else:
            zone = opts.internal_service_availability_zone
        alive = up(svc)
        entry = ZoneHost(
            svc.host,
            svc.binary,
            available=not svc.disabled,
            active=alive,
            updated_at=svc.updated_at.isoformat() if svc.updated_at else None,
        )
        if svc.binary != "nova-compute" or not svc.disabled:
            available[zone].append(entry)
        else:
            unavailable.add(zone)
    return dict(available), sorted(unavailable - set(available))


def check_requested(deps: Deps, zone: str) -> None:
    available, _ = zones(deps)
    internal = deps.opts.internal_service_availability_zone
    if zone == internal or zone not in available:
        raise BadRequest("The requested availability zone is not available")
