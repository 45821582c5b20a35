"""``/os-quota-class-sets/{class_name}``: quota classes (``default`` holds the defaults)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.volume.api import schemas
from tinystack.volume.api.deps import ContextDep, DepsDep
from tinystack.volume.api.quota_sets import limits_body
from tinystack.volume.api.rendering import json_response
from tinystack.volume.services import quotas

router = APIRouter(tags=["quota classes"])
GET = "volume_extension:quota_classes:get"
UPDATE = "volume_extension:quota_classes:update"


@router.get("/os-quota-class-sets/{class_name}", openapi_extra=policies(GET))
def show_quota_class(class_name: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(GET, {"project_id": ctx.project_id})
    body: dict[str, Any] = dict(quotas.show_class(deps.db, deps.opts, class_name))
    body["id"] = class_name
    return json_response({"quota_class_set": body})


@router.put(
    "/os-quota-class-sets/{class_name}",
    openapi_extra=policies(UPDATE) | request_model(schemas.QuotaClassSetRequest),
)
def update_quota_class(
    class_name: str, ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)
) -> Response:
    ctx.can(UPDATE, {"project_id": ctx.project_id})
    data = schemas.part(body, "quota_class_set")
    extra = sorted(set(body) - {"quota_class_set"})
    if extra:
        raise schemas.unexpected(extra)
    found = quotas.update_class(deps.db, deps.opts, class_name, limits_body(data))
    return json_response({"quota_class_set": found})
