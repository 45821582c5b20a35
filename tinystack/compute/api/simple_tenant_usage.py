"""``/os-simple-tenant-usage``: hours of vCPU, RAM and disk used over a period."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.exceptions import BadRequest
from tinystack.common.timeutils import utcnow
from tinystack.compute import models, states
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.openapi import policies
from tinystack.compute.api.query import bool_param, limit_and_marker
from tinystack.compute.api.rendering import base_url, json_response, plain_time
from tinystack.compute.services.deps import Deps

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


def _rows(deps: Deps, project: str | None, start: datetime, end: datetime) -> list[Any]:
    inst = models.Instance
    with deps.db.reader() as session:
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
        return list(session.scalars(query))


def _server_usage(row: models.Instance, start: datetime, end: datetime) -> dict[str, Any]:
    began = max(row.launched_at or row.created_at, start)
    stopped = min(row.terminated_at or end, end)
    hours = max((stopped - began).total_seconds(), 0) / 3600
    flavor = row.flavor or {}
    disk = int(flavor.get("root_gb") or 0) + int(flavor.get("ephemeral_gb") or 0)
    state = "terminated" if row.deleted else row.vm_state
    uptime_end = row.terminated_at or utcnow()
    return {
        "instance_id": row.uuid,
        "name": row.display_name,
        "hours": hours,
        "memory_mb": int(flavor.get("memory_mb") or 0),
        "local_gb": disk,
        "vcpus": int(flavor.get("vcpus") or 0),
        "tenant_id": row.project_id,
        "flavor": flavor.get("name"),
        "started_at": plain_time(row.launched_at or row.created_at),
        "ended_at": plain_time(row.terminated_at),
        "state": state if state != states.DELETED else "terminated",
        "uptime": int((uptime_end - (row.launched_at or row.created_at)).total_seconds()),
    }


def _summaries(
    rows: list[Any], start: datetime, end: datetime, detailed: bool
) -> list[dict[str, Any]]:
    by_project: dict[str, dict[str, Any]] = {}
    for row in rows:
        usage = _server_usage(row, start, end)
        summary = by_project.setdefault(
            row.project_id,
            {
                "tenant_id": row.project_id,
                "total_local_gb_usage": 0.0,
                "total_vcpus_usage": 0.0,
                "total_memory_mb_usage": 0.0,
                "total_hours": 0.0,
                "start": plain_time(start),
                "stop": plain_time(end),
                "server_usages": [],
            },
        )
        summary["total_hours"] += usage["hours"]
        summary["total_vcpus_usage"] += usage["hours"] * usage["vcpus"]
        summary["total_memory_mb_usage"] += usage["hours"] * usage["memory_mb"]
        summary["total_local_gb_usage"] += usage["hours"] * usage["local_gb"]
        summary["server_usages"].append(usage)
    result = list(by_project.values())
    if not detailed:
        for summary in result:
            del summary["server_usages"]
    return result


@router.get("/os-simple-tenant-usage", openapi_extra=policies(P % "list"))
def list_usage(request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    ctx.can(P % "list", {})
    start, end = _period(request)
    detailed = bool(bool_param(request.query_params.get("detailed") or "0", "detailed"))
    summaries = _summaries(_rows(deps, None, start, end), start, end, detailed)
    body: dict[str, Any] = {"tenant_usages": summaries}
    if version >= (2, 40):
        limit, marker = limit_and_marker(request, int(deps.opts.max_limit))
        ids = [s["tenant_id"] for s in summaries]
        if marker is not None:
            if marker not in ids:
                raise BadRequest(f"Marker {marker} could not be found.")
            summaries = summaries[ids.index(marker) + 1 :]
        body["tenant_usages"] = summaries[:limit]
        if len(summaries) > limit:
            body["tenant_usages_links"] = [
                {
                    "rel": "next",
                    "href": f"{base_url(request)}/v2.1/os-simple-tenant-usage?limit={limit}"
                    f"&marker={summaries[limit - 1]['tenant_id']}",
                }
            ]
    return json_response(body)


@router.get("/os-simple-tenant-usage/{tenant_id}", openapi_extra=policies(P % "show"))
def show_usage(
    request: Request, tenant_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    ctx.can(P % "show", {"project_id": tenant_id})
    start, end = _period(request)
    summaries = _summaries(_rows(deps, tenant_id, start, end), start, end, True)
    usage = summaries[0] if summaries else {}
    if usage and version >= (2, 40):
        limit, marker = limit_and_marker(request, int(deps.opts.max_limit))
        servers = usage["server_usages"]
        if marker is not None:
            ids = [s["instance_id"] for s in servers]
            if marker not in ids:
                raise BadRequest(f"Marker {marker} could not be found.")
            servers = servers[ids.index(marker) + 1 :]
        usage["server_usages"] = servers[:limit]
    return json_response({"tenant_usage": usage})
