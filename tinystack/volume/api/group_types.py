"""``/group_types`` (3.11): group types and their group specs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.microversion import since
from tinystack.common.api.openapi import policies, request_model
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.volume import exception
from tinystack.volume.api import query, schemas
from tinystack.volume.api.deps import ContextDep, DepsDep, url_project
from tinystack.volume.api.rendering import json_response, next_link
from tinystack.volume.services import group_types
from tinystack.volume.services.records import GroupTypeRecord

router = APIRouter(tags=["group types"])
CREATE = "group:group_types:create"
UPDATE = "group:group_types:update"
DELETE = "group:group_types:delete"
SHOW_SPECS = "group:access_group_types_specs"
SPEC = "group:group_types_specs:%s"
V = since("3.11")


def _view(ctx: RequestContext, gtype: GroupTypeRecord) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": gtype.id,
        "name": gtype.name,
        "description": gtype.description,
        "is_public": gtype.is_public,
    }
    if ctx.allowed(SHOW_SPECS, {"project_id": ctx.project_id}):
        view["group_specs"] = dict(gtype.group_specs)
    return view


@router.get("/group_types", openapi_extra=V | policies(SHOW_SPECS))
def list_group_types(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = request.query_params
    is_public: bool | None = True
    if ctx.is_admin and params.get("is_public") is not None:
        raw = params["is_public"]
        is_public = None if raw.lower() == "none" else schemas.boolean(raw, "is_public")
    page = query.page(request, int(deps.opts.max_limit))
    found = group_types.list_types(
        deps.db, ctx.project_id, ctx.is_admin, is_public=is_public, sort=query.sort(request),
        limit=page.limit, marker=page.marker, offset=page.offset,
    )  # fmt: skip
    body: dict[str, Any] = {"group_types": [_view(ctx, t) for t in found]}
    if found and len(found) >= page.limit:
        body["group_type_links"] = next_link(request, url_project(request), "group_types",
                                             found[-1].id)  # fmt: skip
    return json_response(body)


@router.get("/group_types/default", openapi_extra=V | policies(SHOW_SPECS))
def show_default_group_type(ctx: ContextDep) -> Response:
    del ctx
    raise NotFound("Default group type can not be found.")


@router.get("/group_types/{group_type_id}", openapi_extra=V | policies(SHOW_SPECS))
def show_group_type(group_type_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    try:
        found = group_types.get(deps.db, group_type_id, ctx.project_id, ctx.is_admin)
    except exception.GroupTypeNotFoundByName:
        raise exception.GroupTypeNotFound(group_type_id=group_type_id) from None
    return json_response({"group_type": _view(ctx, found)})


@router.post(
    "/group_types",
    status_code=202,
    openapi_extra=V | policies(CREATE, SHOW_SPECS) | request_model(schemas.GroupTypeCreateRequest),
)
def create_group_type(ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)) -> Response:
    ctx.can(CREATE, {"project_id": ctx.project_id})
    data = schemas.part(body, "group_type")
    schemas.GroupTypeCreateRequest.model_validate(body)
    name = str(data["name"]).strip()
    if not name:
        raise BadRequest("Invalid input for field/attribute name.")
    is_public = schemas.boolean(data.get("is_public", True), "is_public")
    specs = schemas.key_values(data.get("group_specs") or {}, "group_specs")
    found = group_types.create(deps.db, name, data.get("description"), is_public, specs)
    return json_response({"group_type": _view(ctx, found)}, 202)


@router.put(
    "/group_types/{group_type_id}",
    openapi_extra=V | policies(UPDATE, SHOW_SPECS) | request_model(schemas.GroupTypeUpdateRequest),
)
def update_group_type(
    group_type_id: str, ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)
) -> Response:
    ctx.can(UPDATE, {"project_id": ctx.project_id})
    data = schemas.part(body, "group_type")
    schemas.GroupTypeUpdateRequest.model_validate(body)
    name, description, is_public = data.get("name"), data.get("description"), data.get("is_public")
    if name is not None and not str(name).strip():
        raise BadRequest("Group type name can not be empty.")
    if name is None and description is None and is_public is None:
        raise BadRequest("Specify group type name, description or a combination thereof.")
    changes = group_types.GroupTypeChanges(
        name=str(name).strip() if name is not None else None,
        description=description,
        is_public=schemas.boolean(is_public, "is_public") if is_public is not None else None,
    )
    return json_response(
        {"group_type": _view(ctx, group_types.update(deps.db, group_type_id, changes))}
    )


@router.delete("/group_types/{group_type_id}", status_code=202, openapi_extra=V | policies(DELETE))
def delete_group_type(group_type_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(DELETE, {"project_id": ctx.project_id})
    group_types.destroy(deps.db, group_type_id)
    return Response(status_code=202)


# -- group specs --------------------------------------------------------------------------------
def _specs(ctx: RequestContext, deps: Any, group_type_id: str) -> dict[str, str]:
    try:
        return group_types.get(deps.db, group_type_id, ctx.project_id, True).group_specs
    except exception.GroupTypeNotFoundByName:
        raise exception.GroupTypeNotFound(group_type_id=group_type_id) from None


@router.get("/group_types/{group_type_id}/group_specs",
            openapi_extra=V | policies(SPEC % "get_all"))  # fmt: skip
def list_group_specs(group_type_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(SPEC % "get_all", {"project_id": ctx.project_id})
    return json_response({"group_specs": _specs(ctx, deps, group_type_id)})


@router.post(
    "/group_types/{group_type_id}/group_specs",
    status_code=202,
    openapi_extra=V | policies(SPEC % "create") | request_model(schemas.GroupSpecsRequest),
)
def create_group_specs(
    group_type_id: str, ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)
) -> Response:
    ctx.can(SPEC % "create", {"project_id": ctx.project_id})
    if not isinstance(body, dict) or "group_specs" not in body:
        raise BadRequest("Invalid input for field/attribute group_specs.")
    specs = schemas.key_values(body["group_specs"], "group_specs")
    group_types.set_specs(deps.db, group_type_id, specs)
    return json_response({"group_specs": specs}, 202)


@router.get("/group_types/{group_type_id}/group_specs/{key}",
            openapi_extra=V | policies(SPEC % "get"))  # fmt: skip
def show_group_spec(group_type_id: str, key: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(SPEC % "get", {"project_id": ctx.project_id})
    specs = _specs(ctx, deps, group_type_id)
    if key not in specs:
        raise exception.NotFound(f"Group Type {group_type_id} has no extra spec with key {key}.")
    return json_response({key: specs[key]})


@router.put(
    "/group_types/{group_type_id}/group_specs/{key}",
    openapi_extra=V | policies(SPEC % "update") | request_model(schemas.ExtraSpecItemRequest),
)
def update_group_spec(
    group_type_id: str, key: str, ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)
) -> Response:
    ctx.can(SPEC % "update", {"project_id": ctx.project_id})
    specs = schemas.key_values(body, "group_specs")
    if key not in specs or len(specs) != 1:
        raise BadRequest("Request body and URI mismatch")
    group_types.set_specs(deps.db, group_type_id, specs)
    return json_response(specs)


@router.delete("/group_types/{group_type_id}/group_specs/{key}", status_code=202,
               openapi_extra=V | policies(SPEC % "delete"))  # fmt: skip
def delete_group_spec(group_type_id: str, key: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(SPEC % "delete", {"project_id": ctx.project_id})
    group_types.delete_spec(deps.db, group_type_id, key)
    return Response(status_code=202)
