"""``/types/{type_id}/os-volume-type-access`` and the add/remove project access actions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from tinystack.common.api.openapi import policies
from tinystack.common.exceptions import BadRequest
from tinystack.volume.api import schemas
from tinystack.volume.api.deps import ContextDep, DepsDep
from tinystack.volume.api.rendering import json_response
from tinystack.volume.services import volume_types

router = APIRouter(tags=["volume type access"])
LIST = "volume_extension:volume_type_access:get_all_for_type"
ADD = "volume_extension:volume_type_access:addProjectAccess"
REMOVE = "volume_extension:volume_type_access:removeProjectAccess"


@router.get("/types/{type_id}/os-volume-type-access", openapi_extra=policies(LIST))
def list_type_access(type_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(LIST, {"project_id": ctx.project_id})
    projects = volume_types.access_list(deps.db, type_id)
    return json_response(
        {"volume_type_access": [{"volume_type_id": type_id, "project_id": p} for p in projects]}
    )


def _action_bodies() -> dict[str, Any]:
    alternatives = [
        schemas.TypeAccessAdd.model_json_schema(),
        schemas.TypeAccessRemove.model_json_schema(),
    ]
    for alternative in alternatives:
        defs = alternative.pop("$defs", {})
        for prop in alternative["properties"].values():
            ref = prop.pop("$ref", None)
            if ref:
                prop.update(defs[ref.rsplit("/", 1)[-1]])
    return {
        "x-request-model": "TypeAccessAction",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"oneOf": alternatives}}},
        },
    }


@router.post(
    "/types/{type_id}/action",
    status_code=202,
    openapi_extra=policies(ADD, REMOVE) | _action_bodies(),
)
def type_access_action(
    type_id: str, ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)
) -> Response:
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Malformed request body")
    ((name, value),) = body.items()
    if name not in ("addProjectAccess", "removeProjectAccess"):
        raise BadRequest(f"There is no such action: {name}")
    rule = ADD if name == "addProjectAccess" else REMOVE
    ctx.can(rule, {"project_id": ctx.project_id})
    if not isinstance(value, dict) or not isinstance(value.get("project"), str):
        raise BadRequest("Missing required element 'project' in request body.")
    project = value["project"]
    if name == "addProjectAccess":
        volume_types.add_access(deps.db, type_id, project)
    else:
        volume_types.remove_access(deps.db, type_id, project)
    return Response(status_code=202)
