"""``/group_snapshots`` (3.14): snapshots of every volume of a group; reset status
(3.19). Groups are created from them with ``/groups/action`` create-from-src."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.microversion import since
from tinystack.common.api.openapi import policies, request_model
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.volume.api import query, schemas
from tinystack.volume.api.deps import ContextDep, DepsDep, Version, VersionDep
from tinystack.volume.api.rendering import cinder_time, json_response
from tinystack.volume.services import group_snapshots
from tinystack.volume.services.group_snapshots import GroupSnapshotRecord

router = APIRouter(tags=["group snapshots"])
GET_ALL = "group:get_all_group_snapshots"
CREATE = "group:create_group_snapshot"
GET = "group:get_group_snapshot"
DELETE = "group:delete_group_snapshot"
PROJECT_ATTR = "group:group_snapshot_project_attribute"
RESET = "group:reset_group_snapshot_status"
V = since("3.14")


class GroupSnapshotCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    group_id: str
    name: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=255)


class GroupSnapshotCreateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    group_snapshot: GroupSnapshotCreate


class GroupSnapshotAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reset_status: dict[str, str]


def _detail(ctx: RequestContext, g: GroupSnapshotRecord, version: Version) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": g.id,
        "group_id": g.group_id,
        "status": g.status,
        "created_at": cinder_time(g.created_at),
        "name": g.name,
        "description": g.description,
        "group_type_id": g.group_type_id,
    }
    if version >= (3, 58) and ctx.allowed(PROJECT_ATTR, {"project_id": g.project_id}):
        view["project_id"] = g.project_id
    return view


def _list(request: Request, ctx: Any, deps: Any, version: Version, detail: bool) -> Response:
    ctx.can(GET_ALL, {"project_id": ctx.project_id})
    params = request.query_params
    all_projects = query.flag(params.get("all_tenants"), "all_tenants")
    filters = {k: params[k] for k in ("status", "group_id", "name") if k in params}
    found = group_snapshots.list_group_snapshots(deps, ctx, all_projects, filters)
    if version >= (3, 29):
        page = query.page(request, int(deps.opts.max_limit))
        if page.marker is not None:
            ids = [g.id for g in found]
            if page.marker not in ids:
                raise NotFound(f"Marker {page.marker} could not be found.")
            found = found[ids.index(page.marker) + 1 :]
        found = found[page.offset :][: page.limit]
    items = [_detail(ctx, g, version) if detail else {"id": g.id, "name": g.name} for g in found]
    return json_response({"group_snapshots": items})


@router.get("/group_snapshots", openapi_extra=V | policies(GET_ALL))
def list_group_snapshots(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    return _list(request, ctx, deps, version, detail=False)


@router.get("/group_snapshots/detail", openapi_extra=V | policies(GET_ALL, PROJECT_ATTR))
def list_group_snapshots_detail(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    return _list(request, ctx, deps, version, detail=True)


@router.get("/group_snapshots/{group_snapshot_id}", openapi_extra=V | policies(GET, PROJECT_ATTR))
def show_group_snapshot(
    group_snapshot_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    found = group_snapshots.get(deps, ctx, group_snapshot_id, GET)
    return json_response({"group_snapshot": _detail(ctx, found, version)})


@router.post(
    "/group_snapshots",
    status_code=202,
    openapi_extra=V | policies(CREATE) | request_model(GroupSnapshotCreateRequest),
)
def create_group_snapshot(ctx: ContextDep, deps: DepsDep, body: Any = Body(None)) -> Response:
    ctx.can(CREATE, {"project_id": ctx.project_id})
    part = schemas.top(body, "group_snapshot")
    schemas.closed(part, "group_snapshot", set(GroupSnapshotCreate.model_fields))
    if "group_id" not in part:
        raise schemas.invalid("group_snapshot", part, "'group_id' is a required property")
    group_id = schemas.uuid_value(part["group_id"], "group_id")
    name = schemas.text(part.get("name"), "name")
    description = schemas.text(part.get("description"), "description")
    found = group_snapshots.create(deps, ctx, group_id, name, description)
    view = {"id": found.id, "name": found.name, "group_type_id": found.group_type_id}
    return json_response({"group_snapshot": view}, 202)


@router.delete(
    "/group_snapshots/{group_snapshot_id}", status_code=202, openapi_extra=V | policies(DELETE)
)
def delete_group_snapshot(group_snapshot_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    group_snapshots.delete(deps, ctx, group_snapshot_id, DELETE)
    return Response(status_code=202)


@router.post(
    "/group_snapshots/{group_snapshot_id}/action",
    status_code=202,
    openapi_extra=since("3.19") | policies(RESET) | request_model(GroupSnapshotAction),
)
def group_snapshot_action(
    group_snapshot_id: str, ctx: ContextDep, deps: DepsDep, body: Any = Body(None)
) -> Response:
    if not isinstance(body, dict) or len(body) != 1 or "reset_status" not in body:
        raise BadRequest("Malformed request body")
    value = body["reset_status"]
    status = value.get("status") if isinstance(value, dict) else None
    if not isinstance(status, str) or not status.strip():
        raise BadRequest("The 'status' can not be empty.")
    group_snapshots.reset_status(deps, ctx, group_snapshot_id, status.strip().lower(), RESET)
    return Response(status_code=202)
