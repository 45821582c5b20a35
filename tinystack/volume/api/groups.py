"""``/groups`` (3.13): generic volume groups; their actions (delete, reset_status 3.20)
and groups from a source group (``/groups/action`` create-from-src, 3.14)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.microversion import since
from tinystack.common.api.openapi import policies, request_model
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.volume.api import query, schemas
from tinystack.volume.api.deps import ContextDep, DepsDep, Version, VersionDep, url_project
from tinystack.volume.api.rendering import cinder_time, json_response, next_link
from tinystack.volume.services import groups
from tinystack.volume.services.records import GroupRecord

router = APIRouter(tags=["groups"])
GET_ALL, GET, CREATE, UPDATE = "group:get_all", "group:get", "group:create", "group:update"
DELETE, RESET = "group:delete", "group:reset_status"
PROJECT_ATTR = "group:group_project_attribute"
V = since("3.13")


def _detail(
    request: Request, ctx: RequestContext, g: GroupRecord, version: Version
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": g.id,
        "status": g.status,
        "availability_zone": g.availability_zone,
        "created_at": cinder_time(g.created_at),
        "name": g.name,
        "description": g.description,
        "group_type": g.group_type_id,
        "volume_types": list(g.volume_type_ids),
    }
    if version >= (3, 14):
        view["group_snapshot_id"] = g.group_snapshot_id
        view["source_group_id"] = g.source_group_id
    if version >= (3, 25) and query.flag(request.query_params.get("list_volume"), "list_volume"):
        view["volumes"] = list(g.volume_ids)
    if version >= (3, 38):
        view["replication_status"] = g.replication_status
    if version >= (3, 58) and ctx.allowed(PROJECT_ATTR, {"project_id": g.project_id}):
        view["project_id"] = g.project_id
    return view


def _listing(
    request: Request, ctx: RequestContext, deps: Any, version: Version, detail: bool
) -> Response:
    ctx.can(GET_ALL, {"project_id": ctx.project_id})
    filters = query.remaining(request)
    project: str | None = ctx.project_id
    if ctx.is_admin and query.flag(filters.pop("all_tenants", None), "all_tenants", strict=False):
        project = None
    page = query.page(request, int(deps.opts.max_limit))
    found = groups.list_groups(
        deps.db, project, filters=filters, sort=query.sort(request), limit=page.limit,
        marker=page.marker, offset=page.offset,
    )  # fmt: skip
    items = [
        _detail(request, ctx, g, version) if detail else {"id": g.id, "name": g.name} for g in found
    ]
    body: dict[str, Any] = {"groups": items}
    if found and len(found) >= page.limit:
        body["group_links"] = next_link(request, url_project(request), "groups", found[-1].id)
    return json_response(body)


@router.get("/groups", openapi_extra=V | policies(GET_ALL))
def list_groups(request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    return _listing(request, ctx, deps, version, detail=False)


@router.get("/groups/detail", openapi_extra=V | policies(GET_ALL, PROJECT_ATTR))
def list_groups_detail(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    return _listing(request, ctx, deps, version, detail=True)


@router.get("/groups/{group_id}", openapi_extra=V | policies(GET, PROJECT_ATTR))
def show_group(
    request: Request, group_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    found = groups.get(deps.db, ctx, group_id, GET)
    return json_response({"group": _detail(request, ctx, found, version)})


@router.post(
    "/groups",
    status_code=202,
    openapi_extra=V | policies(CREATE) | request_model(schemas.GroupCreateRequest),
)
def create_group(ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)) -> Response:
    ctx.can(CREATE, {"project_id": ctx.project_id})
    data = schemas.part(body, "group")
    model = schemas.GroupCreateRequest.model_validate(body).group
    if len(set(model.volume_types)) != len(model.volume_types):
        raise BadRequest("Invalid input for field/attribute volume_types: not unique.")
    del data
    req = groups.GroupCreate(
        group_type=model.group_type,
        volume_types=tuple(model.volume_types),
        name=model.name.strip() if model.name else model.name,
        description=model.description.strip() if model.description else model.description,
        availability_zone=model.availability_zone,
    )
    found = groups.create(deps, ctx, req)
    return json_response({"group": {"id": found.id, "name": found.name}}, 202)


@router.post(
    "/groups/action",
    status_code=202,
    openapi_extra=since("3.14") | policies(CREATE) | request_model(schemas.GroupFromSourceRequest),
)
def create_group_from_source(
    ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)
) -> Response:
    ctx.can(CREATE, {"project_id": ctx.project_id})
    data = schemas.part(body, "create-from-src")
    schemas.GroupFromSourceRequest.model_validate(body)
    snapshot_id, source_id = data.get("group_snapshot_id"), data.get("source_group_id")
    if bool(snapshot_id) == bool(source_id):
        raise BadRequest("Either group_snapshot_id or source_group_id must be given.")
    found = groups.create_from_source(
        deps, ctx, str(source_id) if source_id else None, data.get("name"),
        data.get("description"), str(snapshot_id) if snapshot_id else None,
    )  # fmt: skip
    return json_response({"group": {"id": found.id, "name": found.name}}, 202)


@router.put(
    "/groups/{group_id}",
    status_code=202,
    openapi_extra=V | policies(UPDATE) | request_model(schemas.GroupUpdateRequest),
)
def update_group(
    group_id: str, ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)
) -> Response:
    model = schemas.GroupUpdateRequest.model_validate(body).group
    if all(v is None for v in (model.name, model.description, model.add_volumes,
                                model.remove_volumes)):  # fmt: skip
        raise BadRequest("Name, description, add_volumes, and remove_volumes can not be all "
                         "empty in the request body.")  # fmt: skip

    def ids(raw: str | None) -> tuple[str, ...]:
        return tuple(v.strip() for v in (raw or "").split(",") if v.strip())

    changes = groups.GroupUpdate(
        name=model.name.strip() if model.name else model.name,
        description=model.description,
        add_volumes=ids(model.add_volumes),
        remove_volumes=ids(model.remove_volumes),
    )
    groups.update(deps.db, ctx, group_id, changes, UPDATE)
    return Response(status_code=202)


@router.post(
    "/groups/{group_id}/action",
    status_code=202,
    openapi_extra=V | policies(DELETE, RESET) | request_model(schemas.GroupActionRequest),
)
def group_action(
    group_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep,
    body: dict[str, Any] = Body(...),
) -> Response:  # fmt: skip
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Malformed request body")
    ((name, value),) = body.items()
    if name == "delete":
        if not isinstance(value, dict):
            raise BadRequest("Invalid input for field/attribute delete.")
        flag = schemas.boolean(value.get("delete-volumes", False), "delete-volumes")
        groups.delete(deps, ctx, group_id, flag, DELETE)
        return Response(status_code=202)
    if name == "reset_status" and version >= (3, 20):
        status = value.get("status") if isinstance(value, dict) else None
        if not isinstance(status, str) or not status.strip():
            raise BadRequest("The 'status' can not be empty.")
        groups.reset_status(deps.db, ctx, group_id, status, RESET)
        return Response(status_code=202)
    if name in ("enable_replication", "disable_replication", "failover_replication",
                "list_replication_targets"):  # fmt: skip
        raise BadRequest("Group replication is not supported.")
    raise NotFound(f"There is no such action: {name}")
