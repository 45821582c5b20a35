"""``/v2.0/routers``: gateways, static routes and the interface actions."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, revision, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import make_check, simple_check
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_one
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import Interface, RouterCreate, RouterUpdate, Routes, owner
from tinystack.network.exception import http_bad_request

ROUTER = Resource(
    singular="router",
    plural="routers",
    filters=frozenset(
        """
            id name project_id tenant_id admin_state_up status description revision_number
            distributed ha availability_zone_hints created_at updated_at
            """.split()
    ),
    sort_keys=frozenset(
        """
            id name project_id tenant_id status admin_state_up created_at updated_at
            revision_number
            """.split()
    ),
    defaults={"admin_state_up": True, "distributed": False, "ha": False, "tags": []},
)


def _gateway(values: dict[str, Any]) -> dict[str, Any]:
    info = values.get("external_gateway_info")
    if info:
        unknown = set(info) - {"network_id", "enable_snat", "external_fixed_ips", "qos_policy_id"}
        if unknown or info.get("qos_policy_id"):
            raise http_bad_request(f"Unrecognized attribute(s) '{', '.join(sorted(unknown))}'")
        info.pop("qos_policy_id", None)
    return values


def list_routers(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, ROUTER, max_limit(deps))
    return render_list(request, ctx, ROUTER, deps.routers.list_items(ctx, params.query), params)


def create_router(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    values = _gateway(owner(validate(RouterCreate, unwrap(body, ROUTER, bulk=False)[0][0])))
    created = deps.routers.create(ctx, values, make_check(ctx, ROUTER, "create"))
    return render_one(ctx, ROUTER, created, 201, hide_missing=False)


def show_router(router_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    return render_one(ctx, ROUTER, deps.routers.show(ctx, router_id), fields=fields_of(request))


def update_router(
    router_id: str, request: Request, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = _gateway(validate(RouterUpdate, unwrap(body, ROUTER, bulk=False)[0][0]))
    check = make_check(ctx, ROUTER, "update", values)
    updated = deps.routers.update(ctx, router_id, values, check, revision(request))
    return render_one(ctx, ROUTER, updated, hide_missing=False)


def delete_router(router_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    deps.routers.delete(ctx, router_id, make_check(ctx, ROUTER, "delete", {}), revision(request))
    return Response(status_code=204)


def add_router_interface(
    router_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(Interface, body)
    check = simple_check(ctx, "add_router_interface")
    return JSONResponse(deps.router_interfaces.add(ctx, router_id, values, check))


def remove_router_interface(
    router_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(Interface, body)
    check = simple_check(ctx, "remove_router_interface")
    return JSONResponse(deps.router_interfaces.remove(ctx, router_id, values, check))


def add_extraroutes(router_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    routes = validate(Routes, unwrap(body, ROUTER, bulk=False)[0][0])["routes"]
    check = simple_check(ctx, "add_extraroutes")
    return render_one(ctx, ROUTER, deps.routers.change_routes(ctx, router_id, routes, True, check))


def remove_extraroutes(router_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    routes = validate(Routes, unwrap(body, ROUTER, bulk=False)[0][0])["routes"]
    check = simple_check(ctx, "remove_extraroutes")
    return render_one(ctx, ROUTER, deps.routers.change_routes(ctx, router_id, routes, False, check))
