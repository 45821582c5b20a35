"""``/os-simple-tenant-usage``: hours of vCPU, RAM and disk used over a period."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api import pagination as pg
from tinystack.common.api.openapi import policies
from tinystack.common.exceptions import BadRequest
from tinystack.common.timeutils import utcnow
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.query import bool_param, limit_and_marker
from tinystack.compute.api.rendering import json_response, plain_time
from tinystack.compute.services import usage
from tinystack.compute.services.usage import ProjectUsage, ServerUsage

router = APIRouter(tags=["usage"])
P = "os_compute_api:os-simple-tenant-usage:%s"


def _period(request: Request) -> tuple[datetime, datetime]:
    now = utcnow()

    def parse(name: str, default: datetime) -> datetime:
        raw = request.query_params.get(name)
        if not raw:
            return default
        for fmt in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f"):
            try:
                return datetime.strptime(raw.rstrip("Z"), fmt)
            except ValueError:
                continue
        raise BadRequest(f"Invalid {name} value {raw}: use %Y-%m-%dT%H:%M:%S.%f")

    end = min(parse("end", now), now)
    start = parse("start", now - timedelta(days=1))
    if start > end:
        raise BadRequest("Invalid start time. The start time cannot occur after the end time.")
    return start, end


def _server_view(usage: ServerUsage) -> dict[str, Any]:
    return {
        "instance_id": usage.instance_id,
        "name": usage.name,
        "hours": usage.hours,
        "memory_mb": usage.memory_mb,
        "local_gb": usage.local_gb,
        "vcpus": usage.vcpus,
        "tenant_id": usage.tenant_id,
        "flavor": usage.flavor,
        "started_at": plain_time(usage.started_at),
        "ended_at": plain_time(usage.ended_at),
        "state": usage.state,
        "uptime": usage.uptime,
    }


def _view(usage: ProjectUsage, detailed: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "tenant_id": usage.tenant_id,
        "total_local_gb_usage": usage.total_local_gb_usage,
        "total_vcpus_usage": usage.total_vcpus_usage,
        "total_memory_mb_usage": usage.total_memory_mb_usage,
        "total_hours": usage.total_hours,
        "start": plain_time(usage.start),
        "stop": plain_time(usage.stop),
    }
    if detailed:
        view["server_usages"] = [_server_view(u) for u in usage.server_usages]
    return view


def _page(request: Request, deps: DepsDep, version: VersionDep) -> tuple[int | None, str | None]:
    """2.40+: ``limit`` and ``marker`` (an instance id); before, every instance."""
    if version < (2, 40):
        return None, None
    return limit_and_marker(request, int(deps.opts.max_limit))


def _links(request: Request, page: usage.UsagePage) -> list[dict[str, str]]:
    """Nova's next link: the request's query (start, end, detailed, limit) with the page's
    last instance as the marker."""
    if page.next_marker is None:
        return []
    url = pg.strip_query(str(request.url))
    return [pg.next_link(url, list(request.query_params.multi_items()), page.next_marker)]


@router.get("/os-simple-tenant-usage", openapi_extra=policies(P % "list"))
def list_usage(request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    ctx.can(P % "list", {})
    start, end = _period(request)
    detailed = bool(bool_param(request.query_params.get("detailed") or "0", "detailed"))
    limit, marker = _page(request, deps, version)
    page = usage.usages(deps.db, None, start, end, limit=limit, marker=marker)
    body: dict[str, Any] = {"tenant_usages": [_view(u, detailed) for u in page.projects]}
    links = _links(request, page)
    if links:
        body["tenant_usages_links"] = links
    return json_response(body)


@router.get("/os-simple-tenant-usage/{tenant_id}", openapi_extra=policies(P % "show"))
def show_usage(
    request: Request, tenant_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    ctx.can(P % "show", {"project_id": tenant_id})
    start, end = _period(request)
    limit, marker = _page(request, deps, version)
    page = usage.usages(deps.db, tenant_id, start, end, limit=limit, marker=marker)
    body: dict[str, Any] = {"tenant_usage": _view(page.projects[0], True) if page.projects else {}}
    links = _links(request, page)
    if links:
        body["tenant_usage_links"] = links
    return json_response(body)
