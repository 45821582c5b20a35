"""``/os-hypervisors``: list, detail, show, search, servers, statistics, uptime."""

from __future__ import annotations

import json
import uuid as uuidlib
from dataclasses import replace
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.microversion import since
from tinystack.common.api.openapi import policies
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.microversion import Version
from tinystack.compute.api.query import bool_param, limit_and_marker, reject_unknown
from tinystack.compute.api.rendering import base_url, json_response
from tinystack.compute.services import hypervisors
from tinystack.compute.services.deps import Deps
from tinystack.compute.services.hypervisors import HypervisorRecord

router = APIRouter(tags=["hypervisors"])
P = "os_compute_api:os-hypervisors:%s"


def _view(
    hv: HypervisorRecord, version: Version, *, detail: bool, with_servers: bool = False
) -> dict[str, Any]:
    use_uuid = version >= (2, 53)
    view: dict[str, Any] = {
        "id": hv.uuid if use_uuid else hv.id,
        "hypervisor_hostname": hv.hypervisor_hostname,
        "state": "up" if hv.up else "down",
        "status": "disabled" if hv.disabled else "enabled",
    }
    if detail:
        view["hypervisor_type"] = hv.hypervisor_type
        view["hypervisor_version"] = hv.hypervisor_version
        view["host_ip"] = hv.host_ip
        view["service"] = {
            "id": hv.service_uuid if use_uuid else hv.service_id,
            "host": hv.host,
            "disabled_reason": hv.disabled_reason,
        }
    if detail and version < (2, 88):
        view.update(hv.stats or {})
        view["cpu_info"] = dict(hv.cpu_info) if version >= (2, 28) else json.dumps(hv.cpu_info)
    if detail and version >= (2, 88):
        view["uptime"] = None
    if hv.servers:
        view["servers"] = [{"name": name, "uuid": uuid} for uuid, name in hv.servers]
    elif with_servers and version >= (2, 75):
        view["servers"] = []
    return view


def _list(
    request: Request, ctx: RequestContext, deps: Deps, version: Version, detail: bool
) -> dict[str, Any]:
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
    found = hypervisors.list_hypervisors(
        deps,
        pattern=pattern,
        limit=limit,
        marker=marker,
        by_uuid=version >= (2, 53),
        stats=detail and version < (2, 88),
        servers=with_servers,
    )
    items = [_view(hv, version, detail=detail, with_servers=with_servers) for hv in found]
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


@router.get(
    "/os-hypervisors/statistics", openapi_extra=since("2.1", "2.87") | policies(P % "statistics")
)
def hypervisor_statistics(ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    if version >= (2, 88):
        raise NotFound("The resource could not be found.")
    ctx.can(P % "statistics", {})
    totals = hypervisors.statistics(deps)
    return json_response({"hypervisor_statistics": totals})


def _check_id(ident: str, version: Version) -> None:
    if version >= (2, 53) and not _is_uuid(ident):
        raise BadRequest(f"Invalid uuid {ident}")
    if version < (2, 53) and not ident.isdigit():
        raise NotFound(f"Hypervisor with ID '{ident}' could not be found.")


@router.get("/os-hypervisors/{hypervisor_id}", openapi_extra=policies(P % "show"))
def show_hypervisor(
    request: Request, hypervisor_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    ctx.can(P % "show", {})
    reject_unknown(request, {"with_servers"} if version >= (2, 53) else set(), version)
    _check_id(hypervisor_id, version)
    asked = version >= (2, 53) and "with_servers" in request.query_params
    hv = hypervisors.get(deps, hypervisor_id, stats=True, servers=asked)
    # an unknown hypervisor is reported before a bad with_servers
    with_servers = asked and bool(bool_param(request.query_params["with_servers"], "with_servers"))
    if not with_servers:
        hv = replace(hv, servers=None)
    return json_response({"hypervisor": _view(hv, version, detail=True, with_servers=with_servers)})


@router.get(
    "/os-hypervisors/{hypervisor_id}/uptime",
    openapi_extra=since("2.1", "2.87") | policies(P % "uptime"),
)
def hypervisor_uptime(
    hypervisor_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    if version >= (2, 88):
        raise NotFound("The resource could not be found.")
    ctx.can(P % "uptime", {})
    _check_id(hypervisor_id, version)
    view = _view(hypervisors.get(deps, hypervisor_id), version, detail=False)
    view["uptime"] = " 00:00:00 up 1 day,  0:00,  0 users,  load average: 0.00, 0.00, 0.00"
    return json_response({"hypervisor": view})


@router.get(
    "/os-hypervisors/{pattern}/search", openapi_extra=since("2.1", "2.52") | policies(P % "search")
)
def search_hypervisors(
    pattern: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    if version >= (2, 53):
        raise NotFound("The resource could not be found.")
    ctx.can(P % "search", {})
    found = hypervisors.search(deps, pattern)
    return json_response({"hypervisors": [_view(hv, version, detail=False) for hv in found]})


@router.get(
    "/os-hypervisors/{pattern}/servers",
    openapi_extra=since("2.1", "2.52") | policies(P % "servers"),
)
def hypervisor_servers(
    pattern: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    if version >= (2, 53):
        raise NotFound("The resource could not be found.")
    ctx.can(P % "servers", {})
    found = hypervisors.search(deps, pattern, servers=True)
    return json_response({"hypervisors": [_view(hv, version, detail=False) for hv in found]})
