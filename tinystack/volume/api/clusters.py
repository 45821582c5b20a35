"""``/clusters`` (3.7): services grouped by cluster; enable and disable one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.microversion import since
from tinystack.common.api.openapi import policies, request_model
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.volume.api import schemas
from tinystack.volume.api.deps import ContextDep, DepsDep, Version, VersionDep
from tinystack.volume.api.rendering import cinder_time, json_response
from tinystack.volume.services import clusters
from tinystack.volume.services.clusters import ClusterRecord

router = APIRouter(tags=["clusters"])
GET_ALL = "clusters:get_all"
GET = "clusters:get"
UPDATE = "clusters:update"
V = since("3.7")
DEFAULT_BINARY = "cinder-volume"


class ClusterUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., max_length=255)
    binary: str | None = None
    disabled_reason: str | None = Field(None, max_length=255)


def _view(found: ClusterRecord, version: Version, detail: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "name": found.name,
        "binary": found.binary,
        "state": "up" if found.num_down_hosts < found.num_hosts else "down",
        "status": "disabled" if found.disabled else "enabled",
    }
    if detail:
        view |= {
            "num_hosts": found.num_hosts,
            "num_down_hosts": found.num_down_hosts,
            "last_heartbeat": cinder_time(found.last_heartbeat),
            "created_at": cinder_time(found.created_at),
            "updated_at": cinder_time(found.updated_at),
            "disabled_reason": found.disabled_reason,
        }
        if version >= (3, 26):
            view |= {
                "replication_status": found.replication_status,
                "frozen": found.frozen,
                "active_backend_id": found.active_backend_id,
            }
    return view


def _list(request: Request, ctx: Any, deps: Any, version: Version, detail: bool) -> Response:
    ctx.can(GET_ALL, {"project_id": ctx.project_id})
    params = request.query_params
    down_time = int(deps.opts.service_down_time)
    found = clusters.list_clusters(deps.db, down_time, params.get("name"), params.get("binary"))
    if "disabled" in params:
        disabled = schemas.boolean(params["disabled"], "disabled")
        found = [c for c in found if c.disabled == disabled]
    if "is_up" in params:
        is_up = schemas.boolean(params["is_up"], "is_up")
        found = [c for c in found if (c.num_down_hosts < c.num_hosts) == is_up]
    return json_response({"clusters": [_view(c, version, detail) for c in found]})


@router.get("/clusters", openapi_extra=V | policies(GET_ALL))
def list_clusters(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    return _list(request, ctx, deps, version, detail=False)


@router.get("/clusters/detail", openapi_extra=V | policies(GET_ALL))
def list_clusters_detail(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    return _list(request, ctx, deps, version, detail=True)


@router.get("/clusters/{name}", openapi_extra=V | policies(GET))
def show_cluster(
    request: Request, name: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    ctx.can(GET, {"project_id": ctx.project_id})
    binary = request.query_params.get("binary", DEFAULT_BINARY)
    found = clusters.get(deps.db, int(deps.opts.service_down_time), name, binary)
    return json_response({"cluster": _view(found, version, detail=True)})


@router.put("/clusters/{action}", openapi_extra=V | policies(UPDATE) | request_model(ClusterUpdate))
def update_cluster(
    action: str, ctx: ContextDep, deps: DepsDep, version: VersionDep, body: Any = Body(None)
) -> Response:
    ctx.can(UPDATE, {"project_id": ctx.project_id})
    if action not in ("enable", "disable"):
        raise NotFound(f"Unknown action {action}")
    if not isinstance(body, dict):
        raise BadRequest("Malformed request body")
    schemas.closed(body, None, set(ClusterUpdate.model_fields))
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequest("Missing required element 'name' in request body.")
    binary = schemas.text(body.get("binary"), "binary") or DEFAULT_BINARY
    reason = schemas.text(body.get("disabled_reason"), "disabled_reason")
    found = clusters.set_disabled(
        deps.db, int(deps.opts.service_down_time), name, binary, action == "disable", reason
    )
    return json_response({"cluster": _view(found, version, detail=False)})
