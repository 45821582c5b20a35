"""``/os-hypervisors``: list, detail, show, search, servers, statistics, uptime."""

from __future__ import annotations

import math
import uuid as uuidlib
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.compute import models
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.microversion import Version
from tinystack.compute.api.openapi import policies
from tinystack.compute.api.query import bool_param, limit_and_marker, reject_unknown
from tinystack.compute.api.rendering import base_url, json_response
from tinystack.compute.services import hosts
from tinystack.compute.services.deps import Deps

router = APIRouter(tags=["hypervisors"])
P = "os_compute_api:os-hypervisors:%s"


def _not_found(ident: str) -> NotFound:
    return NotFound(f"Hypervisor with ID '{ident}' could not be found.")


def _view(
    deps: Deps,
    node: models.ComputeNode,
    svc: models.Service,
    version: Version,
    *,
    detail: bool,
    usage: dict[str, int] | None = None,
    servers: list[tuple[str, str]] | None = None,
    with_servers: bool = False,
) -> dict[str, Any]:
    use_uuid = version >= (2, 53)
    view: dict[str, Any] = {
        "id": node.uuid if use_uuid else node.id,
        "hypervisor_hostname": node.hypervisor_hostname,
        "state": "up" if hosts.service_up_checker(deps.opts)(svc) else "down",
        "status": "disabled" if svc.disabled else "enabled",
    }
    if detail:
        view["hypervisor_type"] = node.hypervisor_type
        view["hypervisor_version"] = node.hypervisor_version
        view["host_ip"] = node.host_ip
        view["service"] = {
            "id": svc.uuid if use_uuid else svc.id,
            "host": node.host,
            "disabled_reason": svc.disabled_reason,
        }
    if detail and version < (2, 88):
        view.update(_stats(deps, node, usage or {}))
        view["cpu_info"] = dict(node.cpu_info or {}) if version >= (2, 28) else _cpu_text(node)
    if detail and version >= (2, 88):
        view["uptime"] = None
    if servers:
        view["servers"] = [{"name": name, "uuid": uuid} for uuid, name in servers]
    elif with_servers and version >= (2, 75):
        view["servers"] = []
    return view


def _cpu_text(node: models.ComputeNode) -> str:
    import json

    return json.dumps(node.cpu_info or {})


def _stats(deps: Deps, node: models.ComputeNode, usage: dict[str, int]) -> dict[str, int]:
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


def _list(request: Request, ctx: Any, deps: Deps, version: Version, detail: bool) -> dict[str, Any]:
    allowed: set[str] = set()
    if version >= (2, 33):
        allowed |= {"limit", "marker"}
    if version >= (2, 53):
        allowed |= {"hypervisor_hostname_pattern", "with_servers"}
    reject_unknown(request, allowed, version)
    params = request.query_params
    pattern = params.get("hypervisor_hostname_pattern") if version >= (2, 53) else None
    with_servers = False
    if version >= (2, 53) and "with_servers" in params:
        with_servers = bool(bool_param(params["with_servers"], "with_servers"))
    limit: int | None = None
    marker: str | None = None
    if version >= (2, 33):
        limit, marker = limit_and_marker(request, int(deps.opts.max_limit))
        if "limit" not in params:
            limit = None
    if pattern is not None and ("limit" in params or marker):
        raise BadRequest(
            "Paging over hypervisors with the hypervisor_hostname_pattern query parameter is "
            "not supported."
        )
    if marker is not None and version >= (2, 53) and not _is_uuid(marker):
        raise BadRequest(f"marker [{marker}] not found")
    rows = hosts.list_nodes(
        deps.db, hostname_pattern=pattern, limit=limit, marker=marker, by_uuid=version >= (2, 53)
    )
    if pattern is not None and not rows:
        raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
    rows = [(n, s) for n, s in rows if s is not None]
    names = [n.host for n, _ in rows]
    usage = hosts.usage_by_host(deps.db, names) if detail and version < (2, 88) else {}
    servers = hosts.instances_on(deps.db, names) if with_servers else {}
    items = [
        _view(
            deps,
            n,
            s,
            version,
            detail=detail,
            usage=usage.get(n.host),
            servers=servers.get(n.host),
            with_servers=with_servers,
        )
        for n, s in rows
        if s is not None
    ]
    body: dict[str, Any] = {"hypervisors": items}
    if limit and len(items) == limit and pattern is None:
        path = "os-hypervisors/detail" if detail else "os-hypervisors"
        body["hypervisors_links"] = [
            {
                "rel": "next",
                "href": f"{base_url(request)}/v2.1/{path}?limit={limit}&marker={items[-1]['id']}",
            }
        ]
    return body


def _is_uuid(value: str) -> bool:
    try:
        uuidlib.UUID(value)
    except ValueError:
        return False
    return True


@router.get("/os-hypervisors", openapi_extra=policies(P % "list"))
def list_hypervisors(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    ctx.can(P % "list", {})
    return json_response(_list(request, ctx, deps, version, detail=False))


@router.get("/os-hypervisors/detail", openapi_extra=policies(P % "list-detail"))
def list_hypervisors_detail(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    ctx.can(P % "list-detail", {})
    return json_response(_list(request, ctx, deps, version, detail=True))


@router.get("/os-hypervisors/statistics", openapi_extra=policies(P % "statistics"))
def hypervisor_statistics(ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    if version >= (2, 88):
        raise NotFound("The resource could not be found.")
    ctx.can(P % "statistics", {})
    rows = [(n, s) for n, s in hosts.list_nodes(deps.db) if s is not None]
    usage = hosts.usage_by_host(deps.db, [n.host for n, _ in rows])
    totals: dict[str, int] = {"count": len(rows)}
    for node, _svc in rows:
        for key, value in _stats(deps, node, usage.get(node.host, {})).items():
            totals[key] = totals.get(key, 0) + value
    for key in (
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
    ):
        totals.setdefault(key, 0)
    return json_response({"hypervisor_statistics": totals})


def _find(deps: Deps, ident: str, version: Version) -> tuple[models.ComputeNode, models.Service]:
    if version >= (2, 53) and not _is_uuid(ident):
        raise BadRequest(f"Invalid uuid {ident}")
    if version < (2, 53) and not ident.isdigit():
        raise _not_found(ident)
    try:
        node, svc = hosts.get_node(deps.db, ident)
    except NotFound:
        raise _not_found(ident) from None
    if svc is None:
        raise _not_found(ident)
    return node, svc


@router.get("/os-hypervisors/{hypervisor_id}", openapi_extra=policies(P % "show"))
def show_hypervisor(
    request: Request, hypervisor_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    ctx.can(P % "show", {})
    reject_unknown(request, {"with_servers"} if version >= (2, 53) else set(), version)
    node, svc = _find(deps, hypervisor_id, version)
    with_servers = False
    if version >= (2, 53) and "with_servers" in request.query_params:
        with_servers = bool(bool_param(request.query_params["with_servers"], "with_servers"))
    usage = hosts.usage_by_host(deps.db, [node.host]).get(node.host)
    servers = hosts.instances_on(deps.db, [node.host]).get(node.host) if with_servers else None
    view = _view(
        deps,
        node,
        svc,
        version,
        detail=True,
        usage=usage,
        servers=servers,
        with_servers=with_servers,
    )
    return json_response({"hypervisor": view})


@router.get("/os-hypervisors/{hypervisor_id}/uptime", openapi_extra=policies(P % "uptime"))
def hypervisor_uptime(
    hypervisor_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    if version >= (2, 88):
        raise NotFound("The resource could not be found.")
    ctx.can(P % "uptime", {})
    node, svc = _find(deps, hypervisor_id, version)
    view = _view(deps, node, svc, version, detail=False)
    view["uptime"] = " 00:00:00 up 1 day,  0:00,  0 users,  load average: 0.00, 0.00, 0.00"
    return json_response({"hypervisor": view})


@router.get("/os-hypervisors/{pattern}/search", openapi_extra=policies(P % "search"))
def search_hypervisors(
    pattern: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    if version >= (2, 53):
        raise NotFound("The resource could not be found.")
    ctx.can(P % "search", {})
    rows = [(n, s) for n, s in hosts.list_nodes(deps.db, hostname_pattern=pattern) if s]
    if not rows:
        raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
    return json_response(
        {"hypervisors": [_view(deps, n, s, version, detail=False) for n, s in rows if s]}
    )


@router.get("/os-hypervisors/{pattern}/servers", openapi_extra=policies(P % "servers"))
def hypervisor_servers(
    pattern: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    if version >= (2, 53):
        raise NotFound("The resource could not be found.")
    ctx.can(P % "servers", {})
    rows = [(n, s) for n, s in hosts.list_nodes(deps.db, hostname_pattern=pattern) if s]
    if not rows:
        raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
    servers = hosts.instances_on(deps.db, [n.host for n, _ in rows])
    items = [
        _view(deps, n, s, version, detail=False, servers=servers.get(n.host)) for n, s in rows if s
    ]
    return json_response({"hypervisors": items})
