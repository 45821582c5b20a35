"""The ``/os-hosts`` API (2.1–2.42): hosts with their zones, resources per project, switches.

Hosts are the compute services' hosts (:mod:`tinystack.compute.services.hosts` keeps their
rows); a maintenance window or a power action would need the driver's help, which only the
fake driver gives.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from tinystack.common.exceptions import BadRequest, NotFound, NotImplementedYet
from tinystack.compute import models
from tinystack.compute.services import availability_zones, hosts
from tinystack.compute.services.deps import Deps


@dataclass(frozen=True, slots=True)
class HostEntry:
    host_name: str
    service: str
    zone: str


@dataclass(frozen=True, slots=True)
class HostResource:
    """One row of ``GET /os-hosts/{host}``: a total, the usage now, or a project's usage."""

    host: str
    project: str
    cpu: int
    memory_mb: int
    disk_gb: int


def list_hosts(deps: Deps, zone: str | None) -> list[HostEntry]:
    """The enabled services' hosts (with their zones), those of ``zone`` when given."""
    opts = deps.opts
    zones = availability_zones.host_zones(deps.db, opts.default_availability_zone)
    found = []
    for svc in hosts.list_services(deps.db):
        if svc.disabled:
            continue
        if svc.binary == hosts.COMPUTE_BINARY:
            svc_zone = zones.get(svc.host, opts.default_availability_zone)
        else:
            svc_zone = opts.internal_service_availability_zone
        if zone and svc_zone != zone:
            continue
        found.append(HostEntry(svc.host, svc.topic, svc_zone))
    return found


def _compute(deps: Deps, host: str) -> hosts.ServiceInfo:
    try:
        return hosts.find_service(deps.db, host, hosts.COMPUTE_BINARY)
    except NotFound:
        raise NotFound(f"Host '{host}' is not mapped to any cell") from None


def resources(deps: Deps, host: str) -> list[HostResource]:
    """The host's total, used-now and used-max resources, then each project's usage."""
    _compute(deps, host)
    with deps.db.reader() as session:
        node = session.scalars(
            select(models.ComputeNode)
            .where(models.ComputeNode.host == host)
            .order_by(models.ComputeNode.id)
        ).first()
        if node is None:
            raise NotFound(f"Compute host {host} could not be found.")
        rows = session.execute(
            select(
                models.Instance.project_id,
                models.Instance.vcpus,
                models.Instance.memory_mb,
                models.Instance.flavor,
            ).where(models.Instance.host == host, models.Instance.deleted.is_(False))
        ).all()
    per_project: dict[str, list[int]] = {}
    total = [0, 0, 0]
    for project, vcpus, memory, flavor in rows:
        disk = int((flavor or {}).get("root_gb") or 0) + int(
            (flavor or {}).get("ephemeral_gb") or 0
        )
        for sums in (total, per_project.setdefault(project, [0, 0, 0])):
            sums[0] += int(vcpus or 0)
            sums[1] += int(memory or 0)
            sums[2] += disk
    found = [
        HostResource(host, "(total)", node.vcpus, node.memory_mb, node.local_gb),
        HostResource(host, "(used_now)", node.vcpus_used, node.memory_mb_used, node.local_gb_used),
        HostResource(host, "(used_max)", *total),
    ]
    found.extend(HostResource(host, project, *sums) for project, sums in per_project.items())
    return found


def update(deps: Deps, host: str, *, enable: bool | None, maintenance: bool | None) -> None:
    """Enable or disable the host's compute service; maintenance mode (fake driver only)."""
    svc = _compute(deps, host)
    if enable is not None:
        hosts.set_status(deps.db, str(svc.id), disabled=not enable)
    if maintenance is not None:
        # a maintenance window would evacuate the host: only the fake driver plays along
        _fake_only(deps)


def _fake_only(deps: Deps) -> None:
    if deps.opts.compute_driver != "fake":
        raise NotImplementedYet("Action is not supported by this cloud's compute driver.")


def power(deps: Deps, host: str) -> None:
    """Check that a power action (reboot, shutdown, startup) of ``host`` may go ahead."""
    svc = _compute(deps, host)
    _fake_only(deps)
    if not hosts.service_up_checker(deps.opts)(svc):
        raise BadRequest(f"Compute service of {host} is unavailable at this time.")
