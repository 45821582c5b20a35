"""Simple tenant usage (``/os-simple-tenant-usage``): hours of vCPU, RAM and disk per project."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from tinystack.common.db import Database
from tinystack.common.exceptions import BadRequest
from tinystack.common.timeutils import utcnow
from tinystack.compute import models, states


@dataclass(frozen=True, slots=True)
class ServerUsage:
    """One server's share of a period."""

    instance_id: str
    name: str | None
    hours: float
    memory_mb: int
    local_gb: int
    vcpus: int
    tenant_id: str
    flavor: str | None
    started_at: datetime
    ended_at: datetime | None
    state: str
    uptime: int


@dataclass(frozen=True, slots=True)
class ProjectUsage:
    """A project's totals over ``start``..``stop``, with its servers' usages."""

    tenant_id: str
    total_local_gb_usage: float
    total_vcpus_usage: float
    total_memory_mb_usage: float
    total_hours: float
    start: datetime
    stop: datetime
    server_usages: tuple[ServerUsage, ...]


def _server_usage(row: models.Instance, start: datetime, end: datetime) -> ServerUsage:
    launched = row.launched_at or row.created_at
    began = max(launched, start)
    stopped = min(row.terminated_at or end, end)
    flavor = row.flavor or {}
    state = "terminated" if row.deleted else row.vm_state
    uptime_end = row.terminated_at or utcnow()
    return ServerUsage(
        instance_id=row.uuid,
        name=row.display_name,
        hours=max((stopped - began).total_seconds(), 0) / 3600,
        memory_mb=int(flavor.get("memory_mb") or 0),
        local_gb=int(flavor.get("root_gb") or 0) + int(flavor.get("ephemeral_gb") or 0),
        vcpus=int(flavor.get("vcpus") or 0),
        tenant_id=row.project_id,
        flavor=flavor.get("name"),
        started_at=launched,
        ended_at=row.terminated_at,
        state=state if state != states.DELETED else "terminated",
        uptime=int((uptime_end - launched).total_seconds()),
    )


@dataclass(frozen=True, slots=True)
class UsagePage:
    """A page of usage (2.40+ pages by instance): the projects' usages of the page's
    instances, and the last instance when the page is full (the next page's marker)."""

    projects: tuple[ProjectUsage, ...]
    next_marker: str | None


def usages(
    db: Database,
    project: str | None,
    start: datetime,
    end: datetime,
    *,
    limit: int | None = None,
    marker: str | None = None,
) -> UsagePage:
    """Every project's usage (or ``project``'s) of servers alive some time in the period.

    As Nova, ``limit`` and ``marker`` page the instances (in creation order), not the
    projects: a project whose servers span two pages appears on both. The marker is an
    instance id (any instance, even deleted); an unknown one is a 400.
    """
    inst = models.Instance
    with db.reader() as session:
        query = (
            select(inst)
            .where(
                inst.created_at <= end,
                (inst.terminated_at.is_(None)) | (inst.terminated_at >= start),
            )
            .order_by(inst.id)
        )
        if project is not None:
            query = query.where(inst.project_id == project)
        if marker is not None:
            after = session.scalar(select(inst.id).where(inst.uuid == marker))
            if after is None:
                raise BadRequest(f"Marker {marker} could not be found.")
            query = query.where(inst.id > after)
        if limit is not None:
            query = query.limit(limit)
        rows = list(session.scalars(query))
        by_project: dict[str, list[ServerUsage]] = {}
        for row in rows:
            by_project.setdefault(row.project_id, []).append(_server_usage(row, start, end))
    full = limit is not None and len(rows) == limit
    return UsagePage(
        tuple(
            _project_usage(tenant, servers, start, end) for tenant, servers in by_project.items()
        ),
        rows[-1].uuid if full and rows else None,
    )


def _project_usage(
    tenant: str, servers: list[ServerUsage], start: datetime, end: datetime
) -> ProjectUsage:
    hours = vcpus = memory = disk = 0.0
    for usage in servers:
        hours += usage.hours
        vcpus += usage.hours * usage.vcpus
        memory += usage.hours * usage.memory_mb
        disk += usage.hours * usage.local_gb
    return ProjectUsage(
        tenant_id=tenant,
        total_local_gb_usage=disk,
        total_vcpus_usage=vcpus,
        total_memory_mb_usage=memory,
        total_hours=hours,
        start=start,
        stop=end,
        server_usages=tuple(servers),
    )
