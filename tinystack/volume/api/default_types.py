"""``/default-types`` (3.62): per-project default volume types."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from tinystack.common.api.microversion import since
from tinystack.common.api.openapi import policies, request_model
from tinystack.volume.api import schemas
from tinystack.volume.api.deps import ContextDep, DepsDep
from tinystack.volume.api.rendering import json_response
from tinystack.volume.services import default_types
from tinystack.volume.services.default_types import DefaultType

router = APIRouter(tags=["default types"])
SET = "volume_extension:default_set_or_update"
GET = "volume_extension:default_get"
GET_ALL = "volume_extension:default_get_all"
UNSET = "volume_extension:default_unset"


def _view(found: DefaultType) -> dict[str, str]:
    return {"project_id": found.project_id, "volume_type_id": found.volume_type_id}


@router.put(
    "/default-types",
    openapi_extra=since("3.62") | policies(SET) | request_model(schemas.DefaultTypeRequest),
)
def set_default_type(ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)) -> Response:
    data = schemas.part(body, "default_type")
    schemas.DefaultTypeRequest.model_validate(body)
    ctx.can(SET, {"project_id": data["project"]})
    found = default_types.set_default(deps.db, data["project"], data["volume_type"])
    return json_response({"default_type": _view(found)})


@router.get("/default-types", openapi_extra=since("3.62") | policies(GET_ALL))
def list_default_types(ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(GET_ALL, {"project_id": ctx.project_id})
    return json_response(
        {"default_types": [_view(d) for d in default_types.list_defaults(deps.db)]}
    )


@router.get("/default-types/{project_id}", openapi_extra=since("3.62") | policies(GET))
def show_default_type(project_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(GET, {"project_id": project_id})
    return json_response({"default_type": _view(default_types.get(deps.db, project_id))})


@router.delete(
    "/default-types/{project_id}", status_code=204, openapi_extra=since("3.62") | policies(UNSET)
)
def unset_default_type(project_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(UNSET, {"project_id": project_id})
    default_types.unset(deps.db, project_id)
    return Response(status_code=204)
