"""Hypervisors (``/os-hypervisors``): compute nodes with their service, usage and servers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tinystack.common.exceptions import NotFound
from tinystack.compute.services import hosts
from tinystack.compute.services.deps import Deps

#: the keys of a hypervisor's statistics, in upstream's order
STAT_KEYS = (
    "vcpus",
    "memory_mb",
    "local_gb",
    "vcpus_used",
    "memory_mb_used",
    "local_gb_used",
    "free_ram_mb",
    "free_disk_gb",
    "current_workload",
    "running_vms",
    "disk_available_least",
)


@dataclass(frozen=True, slots=True)
class HypervisorRecord:
    """A compute node and its service; ``stats`` and ``servers`` when they were asked for."""

    id: int
    uuid: str
    host: str
    hypervisor_hostname: str
    hypervisor_type: str
    hypervisor_version: int
    host_ip: str | None
    cpu_info: dict[str, Any]
    service_id: int
    service_uuid: str
    disabled: bool
    disabled_reason: str | None
    up: bool
    #: vcpus, memory and disk (total, used, free), workload, running VMs (None: not asked)
    stats: dict[str, int] | None
    #: (instance uuid, instance name) of its live instances (None: not asked)
    servers: list[tuple[str, str]] | None


def _not_found(ident: str) -> NotFound:
    return NotFound(f"Hypervisor with ID '{ident}' could not be found.")


def _stats(deps: Deps, node: hosts.NodeInfo, usage: dict[str, int]) -> dict[str, int]:
    opts = deps.opts
    memory_used = usage.get("memory_mb_used", 0) + int(opts.reserved_host_memory_mb)
    disk_used = usage.get("local_gb_used", 0) + math.ceil(int(opts.reserved_host_disk_mb) / 1024)
    return {
        "vcpus": node.vcpus,
        "memory_mb": node.memory_mb,
        "local_gb": node.local_gb,
        "vcpus_used": usage.get("vcpus_used", 0),
        "memory_mb_used": memory_used,
        "local_gb_used": disk_used,
        "free_ram_mb": node.memory_mb - memory_used,
        "free_disk_gb": node.local_gb - disk_used,
        "current_workload": usage.get("current_workload", 0),
        "running_vms": usage.get("running_vms", 0),
        "disk_available_least": node.local_gb - disk_used,
    }


def _records(
    deps: Deps,
    rows: list[tuple[hosts.NodeInfo, hosts.ServiceInfo]],
    *,
    stats: bool,
    servers: bool,
) -> list[HypervisorRecord]:
    names = [n.host for n, _ in rows]
    usage = hosts.usage_by_host(deps.db, names) if stats else {}
    hosted = hosts.instances_on(deps.db, names) if servers else {}
    is_up = hosts.service_up_checker(deps.opts)
    return [
        HypervisorRecord(
            id=node.id,
            uuid=node.uuid,
            host=node.host,
            hypervisor_hostname=node.hypervisor_hostname,
            hypervisor_type=node.hypervisor_type,
            hypervisor_version=node.hypervisor_version,
            host_ip=node.host_ip,
            cpu_info=dict(node.cpu_info or {}),
            service_id=svc.id,
            service_uuid=svc.uuid,
            disabled=svc.disabled,
            disabled_reason=svc.disabled_reason,
            up=is_up(svc),
            stats=_stats(deps, node, usage.get(node.host, {})) if stats else None,
            servers=hosted.get(node.host) if servers else None,
        )
        for node, svc in rows
    ]


def list_hypervisors(
    deps: Deps,
    *,
    pattern: str | None = None,
    limit: int | None = None,
    marker: str | None = None,
    by_uuid: bool = True,
    stats: bool = False,
    servers: bool = False,
) -> list[HypervisorRecord]:
    """Nodes with a service (those whose hostname contains ``pattern``, when given)."""
    rows = hosts.list_nodes(
        deps.db, hostname_pattern=pattern, limit=limit, marker=marker, by_uuid=by_uuid
    )
    if pattern is not None and not rows:
        raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
    return _records(deps, [(n, s) for n, s in rows if s is not None], stats=stats, servers=servers)


def search(deps: Deps, pattern: str, *, servers: bool = False) -> list[HypervisorRecord]:
    """Before 2.53: nodes whose hostname contains ``pattern`` (404 when none has)."""
    rows = [(n, s) for n, s in hosts.list_nodes(deps.db, hostname_pattern=pattern) if s]
    if not rows:
        raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
    return _records(deps, rows, stats=False, servers=servers)


def get(deps: Deps, ident: str, *, stats: bool = False, servers: bool = False) -> HypervisorRecord:
    """The node of id (before 2.53) or uuid ``ident``."""
    try:
        node, svc = hosts.get_node(deps.db, ident)
    except NotFound:
        raise _not_found(ident) from None
    if svc is None:
        raise _not_found(ident)
    return _records(deps, [(node, svc)], stats=stats, servers=servers)[0]


def statistics(deps: Deps) -> dict[str, int]:
    """The sum of every node's statistics, and their ``count``."""
    found = list_hypervisors(deps, stats=True)
    totals: dict[str, int] = {"count": len(found)}
    for record in found:
        for key, value in (record.stats or {}).items():
            totals[key] = totals.get(key, 0) + value
    for key in STAT_KEYS:
        totals.setdefault(key, 0)
    return totals
