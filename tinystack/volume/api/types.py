"""``/types``: volume types (list, show, the default, admin create/update/delete)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest
from tinystack.volume import exception
from tinystack.volume.api import query, schemas, views
from tinystack.volume.api.deps import ContextDep, DepsDep, url_project
from tinystack.volume.api.rendering import json_response, next_link
from tinystack.volume.services import volume_types

router = APIRouter(tags=["volume types"])
CREATE = "volume_extension:type_create"
UPDATE = "volume_extension:type_update"
DELETE = "volume_extension:type_delete"
GET = "volume_extension:type_get"
GET_ALL = "volume_extension:type_get_all"
VIEW_RULES = (views.TYPE_SPECS, views.TYPE_SENSITIVE, views.TYPE_QOS, views.TYPE_ACCESS)


def _viewer(ctx: RequestContext) -> volume_types.Viewer:
    return volume_types.Viewer(ctx.project_id, ctx.is_admin)


def _is_public(raw: str | None) -> bool | None:
    """Upstream's ``_parse_is_public``: absent is True, ``none`` is both."""
    if raw is None:
        return True
    if raw.strip().lower() == "none":
        return None
    return schemas.boolean(raw, "is_public")


@router.get("/types", openapi_extra=policies(GET_ALL, *VIEW_RULES))
def list_types(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    target = {"project_id": ctx.project_id}
    ctx.can(GET_ALL, target)
    params = request.query_params
    is_public = _is_public(params.get("is_public")) if ctx.is_admin else True
    specs: dict[str, str] | None = None
    if "extra_specs" in params:
        specs = query.mapping(params["extra_specs"], "extra_specs")
        if not ctx.allowed(views.TYPE_SENSITIVE, target) and any(
            key not in views.USER_VISIBLE_SPECS for key in specs
        ):
            return json_response({"volume_types": []})
    page = query.page(request, int(deps.opts.max_limit))
    found = volume_types.list_types(
        deps.db,
        _viewer(ctx),
        is_public=is_public,
        extra_specs=specs,
        sort=query.sort(request),
        limit=page.limit,
        marker=page.marker,
        offset=page.offset,
    )
    body: dict[str, Any] = {"volume_types": [views.volume_type(ctx, t) for t in found]}
    if found and len(found) >= page.limit:
        body["volume_type_links"] = next_link(request, url_project(request), "types", found[-1].id)
    return json_response(body)


@router.get("/types/default", openapi_extra=policies(GET, *VIEW_RULES))
def show_default_type(ctx: ContextDep, deps: DepsDep) -> Response:
    try:
        vtype = volume_types.get_default(deps.db, deps.opts.default_volume_type, ctx.project_id)
    except exception.VolumeTypeNotFound:
        raise exception.NotFound("Default volume type can not be found.") from None
    ctx.can(GET, {"project_id": ctx.project_id})
    return json_response({"volume_type": views.volume_type(ctx, vtype)})


@router.get("/types/{type_id}", openapi_extra=policies(GET, *VIEW_RULES))
def show_type(type_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    vtype = volume_types.get(deps.db, type_id, _viewer(ctx))
    ctx.can(GET, {"project_id": ctx.project_id})
    return json_response({"volume_type": views.volume_type(ctx, vtype)})


def _validated(model: type[BaseModel], data: dict[str, Any]) -> None:
    try:
        model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ()))
        raise BadRequest(f"Invalid input for field/attribute {field}. {first.get('msg')}") from None


@router.post(
    "/types",
    openapi_extra=policies(CREATE, *VIEW_RULES) | request_model(schemas.VolumeTypeCreateRequest),
)
def create_type(ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)) -> Response:
    ctx.can(CREATE, {"project_id": ctx.project_id})
    data = schemas.part(body, "volume_type")
    _validated(schemas.VolumeTypeCreateRequest, body)
    name = str(data["name"]).strip()
    if not name:
        raise BadRequest("Invalid input for field/attribute name. The name can not be empty.")
    raw_public = data.get("os-volume-type-access:is_public", True)
    is_public = schemas.boolean(raw_public, "os-volume-type-access:is_public")
    specs = data.get("extra_specs") or {}
    specs = schemas.key_values(specs, "extra_specs")
    vtype = volume_types.create(deps.db, name, data.get("description"), is_public, specs)
    return json_response({"volume_type": views.volume_type_managed(vtype, created=True)})


@router.put(
    "/types/{type_id}",
    openapi_extra=policies(UPDATE, *VIEW_RULES) | request_model(schemas.VolumeTypeUpdateRequest),
)
def update_type(
    type_id: str, ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)
) -> Response:
    ctx.can(UPDATE, {"project_id": ctx.project_id})
    data = schemas.part(body, "volume_type")
    _validated(schemas.VolumeTypeUpdateRequest, body)
    name = data.get("name")
    if name is not None and not str(name).strip():
        raise BadRequest("Volume type name can not be empty.")
    is_public = data.get("is_public")
    if name is None and data.get("description") is None and is_public is None:
        raise BadRequest(
            "Specify volume type name, description, is_public or a combination thereof."
        )
    changes = volume_types.TypeChanges(
        name=str(name).strip() if name is not None else None,
        description=data.get("description"),
        is_public=schemas.boolean(is_public, "is_public") if is_public is not None else None,
    )
    vtype = volume_types.update(deps.db, type_id, changes)
    return json_response({"volume_type": views.volume_type_managed(vtype, created=False)})


@router.delete("/types/{type_id}", status_code=202, openapi_extra=policies(DELETE))
def delete_type(type_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(DELETE, {"project_id": ctx.project_id})
    volume_types.destroy(deps.db, type_id, deps.opts.default_volume_type)
    return Response(status_code=202)
