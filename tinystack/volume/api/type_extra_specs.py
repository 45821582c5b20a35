"""``/types/{type_id}/extra_specs``: a volume type's extra specs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.exceptions import BadRequest
from tinystack.volume import exception
from tinystack.volume.api import schemas, views
from tinystack.volume.api.deps import ContextDep, DepsDep
from tinystack.volume.api.rendering import json_response
from tinystack.volume.services import volume_types

router = APIRouter(tags=["volume type extra specs"])
INDEX = "volume_extension:types_extra_specs:index"
CREATE = "volume_extension:types_extra_specs:create"
SHOW = "volume_extension:types_extra_specs:show"
UPDATE = "volume_extension:types_extra_specs:update"
DELETE = "volume_extension:types_extra_specs:delete"
SENSITIVE = views.TYPE_SENSITIVE


def _specs(ctx: Any, deps: Any, type_id: str) -> dict[str, str]:
    vtype = volume_types.get(deps.db, type_id, volume_types.Viewer(ctx.project_id, ctx.is_admin))
    return views.visible_specs(ctx, vtype.extra_specs)


@router.get("/types/{type_id}/extra_specs", openapi_extra=policies(INDEX, SENSITIVE))
def list_extra_specs(type_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(INDEX, {"project_id": ctx.project_id})
    return json_response({"extra_specs": _specs(ctx, deps, type_id)})


@router.post(
    "/types/{type_id}/extra_specs",
    openapi_extra=policies(CREATE) | request_model(schemas.ExtraSpecsRequest),
)
def create_extra_specs(
    type_id: str, ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)
) -> Response:
    ctx.can(CREATE, {"project_id": ctx.project_id})
    if not isinstance(body, dict) or "extra_specs" not in body:
        raise BadRequest("Invalid input for field/attribute extra_specs. "
                         "'extra_specs' is a required property")  # fmt: skip
    extra = sorted(set(body) - {"extra_specs"})
    if extra:
        raise schemas.unexpected(extra)
    specs = schemas.key_values(body["extra_specs"], "extra_specs")
    volume_types.set_extra_specs(deps.db, type_id, specs)
    return json_response({"extra_specs": specs})


@router.get("/types/{type_id}/extra_specs/{key}", openapi_extra=policies(SHOW, SENSITIVE))
def show_extra_spec(type_id: str, key: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(SHOW, {"project_id": ctx.project_id})
    specs = _specs(ctx, deps, type_id)
    if key not in specs:
        raise exception.VolumeTypeExtraSpecsNotFound(volume_type_id=type_id, extra_specs_key=key)
    return json_response({key: specs[key]})


@router.put(
    "/types/{type_id}/extra_specs/{key}",
    openapi_extra=policies(UPDATE) | request_model(schemas.ExtraSpecItemRequest),
)
def update_extra_spec(
    type_id: str, key: str, ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)
) -> Response:
    ctx.can(UPDATE, {"project_id": ctx.project_id})
    specs = schemas.key_values(body, "extra_specs")
    if key not in specs:
        raise BadRequest("Request body and URI mismatch")
    if len(specs) > 1:
        raise BadRequest("Request body contains too many items")
    volume_types.set_extra_specs(deps.db, type_id, specs)
    return json_response(specs)


@router.delete(
    "/types/{type_id}/extra_specs/{key}", status_code=202, openapi_extra=policies(DELETE)
)
def delete_extra_spec(type_id: str, key: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(DELETE, {"project_id": ctx.project_id})
    volume_types.delete_extra_spec(deps.db, type_id, key)
    return Response(status_code=202)
