"""``/os-quota-sets/{project_id}``: a project's limits (and usage), its defaults, and the
admin's update and delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.exceptions import BadRequest
from tinystack.volume.api import query, schemas
from tinystack.volume.api.deps import ContextDep, DepsDep
from tinystack.volume.api.rendering import json_response
from tinystack.volume.services import quotas

router = APIRouter(tags=["quota sets"])
SHOW = "volume_extension:quotas:show"
UPDATE = "volume_extension:quotas:update"
DELETE = "volume_extension:quotas:delete"


def limits_body(values: dict[str, Any]) -> dict[str, int]:
    """``{resource: limit}`` of a quota set update, each an integer >= -1."""
    if not values:
        raise BadRequest("Invalid input for field/attribute quota_set. Value: {}. "
                         "{} does not have enough properties")  # fmt: skip
    return {key: schemas.integer(value, key, minimum=-1) for key, value in values.items()}


@router.get("/os-quota-sets/{project_id}", openapi_extra=policies(SHOW))
def show_quota_set(request: Request, project_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(SHOW, {"project_id": project_id})
    usage = query.flag(request.query_params.get("usage"), "usage", strict=False)
    found = quotas.show(deps.db, deps.opts, project_id)
    body: dict[str, Any] = {}
    for name, item in found.items():
        body[name] = (
            {"limit": item.limit, "in_use": item.in_use, "reserved": item.reserved}
            if usage
            else item.limit
        )
    body["id"] = project_id
    return json_response({"quota_set": body})


@router.get("/os-quota-sets/{project_id}/defaults", openapi_extra=policies(SHOW))
def show_defaults(project_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(SHOW, {"project_id": project_id})
    body: dict[str, Any] = dict(quotas.defaults(deps.db, deps.opts))
    body["id"] = project_id
    return json_response({"quota_set": body})


@router.put(
    "/os-quota-sets/{project_id}",
    openapi_extra=policies(UPDATE) | request_model(schemas.QuotaSetRequest),
)
def update_quota_set(
    project_id: str, ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)
) -> Response:
    ctx.can(UPDATE, {"project_id": project_id})
    if not 1 <= len(project_id) <= 255:
        raise BadRequest("quota_set_name has an invalid length.")
    data = schemas.part(body, "quota_set")
    extra = sorted(set(body) - {"quota_set"})
    if extra:
        raise schemas.unexpected(extra)
    data = {k: v for k, v in data.items() if k not in ("id", "tenant_id")}
    found = quotas.update_project(deps.db, deps.opts, project_id, limits_body(data))
    return json_response({"quota_set": found})


@router.delete("/os-quota-sets/{project_id}", openapi_extra=policies(DELETE))
def delete_quota_set(project_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(DELETE, {"project_id": project_id})
    quotas.delete_project(deps.db, project_id)
    return Response(status_code=200)
