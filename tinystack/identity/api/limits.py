"""``/v3/registered_limits``, ``/v3/limits`` and ``/v3/limits/model``: unified limits."""

from __future__ import annotations

from typing import Any, cast

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.identity.api.deps import DepsDep, authorize
from tinystack.identity.api.limit_schemas import (
    LimitsBody,
    LimitUpdateBody,
    RegisteredLimitsBody,
    RegisteredLimitUpdateBody,
)
from tinystack.identity.api.views import collection, link
from tinystack.identity.services import limits
from tinystack.identity.services.limits import Limit, LimitFilters, RegisteredLimit


def render_registered(request: Request, reg: RegisteredLimit) -> dict[str, Any]:
    return {
        "id": reg.id,
        "service_id": reg.service_id,
        "region_id": reg.region_id,
        "resource_name": reg.resource_name,
        "default_limit": reg.default_limit,
        "description": reg.description,
        "links": link(request, f"/v3/registered_limits/{reg.id}"),
    }


def render_limit(request: Request, limit: Limit) -> dict[str, Any]:
    return {
        "id": limit.id,
        "project_id": limit.project_id,
        "domain_id": limit.domain_id,
        "service_id": limit.service_id,
        "region_id": limit.region_id,
        "resource_name": limit.resource_name,
        "resource_limit": limit.resource_limit,
        "description": limit.description,
        "links": link(request, f"/v3/limits/{limit.id}"),
    }


def _filters(request: Request, names: tuple[str, ...]) -> LimitFilters:
    found = {n: request.query_params[n] for n in names if n in request.query_params}
    return cast(LimitFilters, found)


def create_registered_limits(
    request: Request, ctx: ContextDep, deps: DepsDep, body: RegisteredLimitsBody
) -> dict[str, Any]:
    authorize(ctx, "identity:create_registered_limits")
    created = limits.create_registered(deps, [r.attributes() for r in body.registered_limits])
    return {"registered_limits": [render_registered(request, r) for r in created]}


def list_registered_limits(request: Request, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    authorize(ctx, "identity:list_registered_limits")
    filters = _filters(request, ("service_id", "region_id", "resource_name"))
    found = limits.list_registered(deps, filters)
    return collection(request, "registered_limits", found, render_registered)


def show_registered_limit(
    request: Request, ctx: ContextDep, deps: DepsDep, registered_limit_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:get_registered_limit")
    reg = limits.get_registered(deps, registered_limit_id)
    return {"registered_limit": render_registered(request, reg)}


def update_registered_limit(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    registered_limit_id: str,
    body: RegisteredLimitUpdateBody,
) -> dict[str, Any]:
    authorize(ctx, "identity:update_registered_limit")
    reg = limits.update_registered(deps, registered_limit_id, body.registered_limit.attributes())
    return {"registered_limit": render_registered(request, reg)}


def delete_registered_limit(ctx: ContextDep, deps: DepsDep, registered_limit_id: str) -> Response:
    authorize(ctx, "identity:delete_registered_limit")
    limits.delete_registered(deps, registered_limit_id)
    return Response(status_code=204)


def limit_model(ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    authorize(ctx, "identity:get_limit_model")
    found = limits.model(deps)
    return {"model": {"name": found.name, "description": found.description}}


def create_limits(
    request: Request, ctx: ContextDep, deps: DepsDep, body: LimitsBody
) -> dict[str, Any]:
    authorize(ctx, "identity:create_limits")
    created = limits.create_limits(deps, [item.attributes() for item in body.limits])
    return {"limits": [render_limit(request, item) for item in created]}


def list_limits(request: Request, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    authorize(ctx, "identity:list_limits")
    names = ("service_id", "region_id", "resource_name", "project_id", "domain_id")
    found = limits.list_limits(deps, ctx, _filters(request, names))
    return collection(request, "limits", found, render_limit)


def show_limit(request: Request, ctx: ContextDep, deps: DepsDep, limit_id: str) -> dict[str, Any]:
    return {"limit": render_limit(request, limits.get_limit(deps, ctx, limit_id))}


def update_limit(
    request: Request, ctx: ContextDep, deps: DepsDep, limit_id: str, body: LimitUpdateBody
) -> dict[str, Any]:
    authorize(ctx, "identity:update_limit")
    return {
        "limit": render_limit(request, limits.update_limit(deps, limit_id, body.limit.attributes()))
    }


def delete_limit(ctx: ContextDep, deps: DepsDep, limit_id: str) -> Response:
    authorize(ctx, "identity:delete_limit")
    limits.delete_limit(deps, limit_id)
    return Response(status_code=204)
