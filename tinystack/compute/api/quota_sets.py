"""``/os-quota-sets`` and ``/os-quota-class-sets``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Body
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.exceptions import BadRequest
from tinystack.compute.api.bodies import body_part, unexpected
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.microversion import Version
from tinystack.compute.api.query import bool_param, reject_unknown
from tinystack.compute.api.rendering import json_response
from tinystack.compute.api.schemas import QuotaClassSetRequest, QuotaSetRequest
from tinystack.compute.services import quotas
from tinystack.compute.services.quotas import QuotaUsage

router = APIRouter(tags=["quotas"])
P = "os_compute_api:os-quota-sets:%s"
C = "os_compute_api:os-quota-class-sets:%s"


def _format(
    values: Mapping[str, int | QuotaUsage], hidden: tuple[str, ...], ident: str | None
) -> dict[str, Any]:
    result: dict[str, Any] = {"id": ident} if ident is not None else {}
    for resource in quotas.RESOURCES:
        if resource not in hidden and resource in values:
            value = values[resource]
            if isinstance(value, QuotaUsage):
                result[resource] = {
                    "limit": value.limit,
                    "in_use": value.in_use,
                    "reserved": value.reserved,
                }
            else:
                result[resource] = value
    return result


def _user(request: Request, version: Version) -> str | None:
    reject_unknown(request, {"user_id"}, version)
    return request.query_params.get("user_id")


def _parse_limits(data: dict[str, Any], hidden: tuple[str, ...]) -> tuple[dict[str, int], bool]:
    force = False
    values: dict[str, int] = {}
    bad = [k for k in data if k != "force" and (k not in quotas.RESOURCES or k in hidden)]
    if bad:
        raise unexpected(sorted(bad))
    for key, raw in data.items():
        if key == "force":
            force = bool(bool_param(str(raw), "force"))
            continue
        if isinstance(raw, bool):
            raise BadRequest(f"Invalid input for field/attribute {key}. Value: {raw}.")
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise BadRequest(
                f"Invalid input for field/attribute {key}. Value: {raw}. "
                f"'{raw}' is not of type 'integer'"
            ) from None
        if value < -1 or value > 0x7FFFFFFF:
            raise BadRequest(
                f"Invalid input for field/attribute {key}. Value: {raw}. "
                f"{raw} is less than the minimum of -1"
            )
        values[key] = value
    return values, force


@router.get("/os-quota-sets/{tenant_id}", openapi_extra=policies(P % "show"))
def show_quotas(
    request: Request, tenant_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    ctx.can(P % "show", {"project_id": tenant_id})
    values = quotas.show(deps.db, deps.opts, tenant_id, _user(request, version))
    return json_response({"quota_set": _format(values, quotas.hidden_for(version), tenant_id)})


@router.get("/os-quota-sets/{tenant_id}/detail", openapi_extra=policies(P % "detail"))
def show_quota_detail(
    request: Request, tenant_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    ctx.can(P % "detail", {"project_id": tenant_id})
    values = quotas.show_usage(deps.db, deps.opts, tenant_id, _user(request, version))
    return json_response({"quota_set": _format(values, quotas.hidden_for(version), tenant_id)})


@router.get("/os-quota-sets/{tenant_id}/defaults", openapi_extra=policies(P % "defaults"))
def show_quota_defaults(
    tenant_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    ctx.can(P % "defaults", {"project_id": tenant_id})
    values = quotas.defaults(deps.db, deps.opts)
    return json_response({"quota_set": _format(values, quotas.hidden_for(version), tenant_id)})


@router.put(
    "/os-quota-sets/{tenant_id}",
    openapi_extra=policies(P % "update") | request_model(QuotaSetRequest),
)
def update_quotas(
    request: Request,
    tenant_id: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: dict[str, Any] = Body(...),
) -> Response:
    ctx.can(P % "update", {"project_id": tenant_id})
    user_id = _user(request, version)
    hidden = quotas.hidden_for(version)
    values, force = _parse_limits(body_part(body, "quota_set"), hidden)
    result = quotas.update(deps.db, deps.opts, tenant_id, values, user_id=user_id, force=force)
    return json_response({"quota_set": _format(result, hidden, None)})


@router.delete("/os-quota-sets/{tenant_id}", status_code=202, openapi_extra=policies(P % "delete"))
def delete_quotas(
    request: Request, tenant_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    ctx.can(P % "delete", {"project_id": tenant_id})
    quotas.delete_all(deps.db, tenant_id, _user(request, version))
    return Response(status_code=202)


# -- quota classes ----------------------------------------------------------------------------
def _class_hidden(version: Version) -> tuple[str, ...]:
    if version >= (2, 57):
        return quotas.NETWORK_QUOTAS + quotas.FILE_QUOTAS
    if version >= (2, 50):
        return quotas.NETWORK_QUOTAS
    return ("server_groups", "server_group_members")


@router.get("/os-quota-class-sets/{class_name}", openapi_extra=policies(C % "show"))
def show_quota_class(
    class_name: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    ctx.can(C % "show", {"quota_class": class_name})
    values = quotas.show_class(deps.db, deps.opts, class_name)
    return json_response({"quota_class_set": _format(values, _class_hidden(version), class_name)})


@router.put(
    "/os-quota-class-sets/{class_name}",
    openapi_extra=policies(C % "update") | request_model(QuotaClassSetRequest),
)
def update_quota_class(
    class_name: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: dict[str, Any] = Body(...),
) -> Response:
    ctx.can(C % "update", {"quota_class": class_name})
    if not 1 <= len(class_name) <= 255:
        raise BadRequest("quota_class_name has a length outside 1..255")
    hidden = _class_hidden(version)
    values, _ = _parse_limits(body_part(body, "quota_class_set"), hidden)
    result = quotas.update_class(deps.db, deps.opts, class_name, values)
    return json_response({"quota_class_set": _format(result, hidden, None)})
