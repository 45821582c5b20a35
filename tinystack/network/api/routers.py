"""``/v2.0/routers``: gateways, static routes and the interface actions."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, revision, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import (
    Target,
    authorize_create,
    make_check,
    on_view,
    simple_check,
)
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_one
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import Interface, RouterCreate, RouterUpdate, Routes, owner
from tinystack.network.api.views import owner as owner_attrs
from tinystack.network.api.views import router_interface_view, router_view
from tinystack.network.exception import http_bad_request
from tinystack.network.services.authz import Check, Owner
from tinystack.network.services.routers import GatewayRequest, RouterChanges, RouterSpec

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


def _change_fields(values: dict[str, Any]) -> dict[str, Any]:
    """RouterChanges' keyword arguments for the attributes a request sets."""
    plain = ("name", "description", "admin_state_up", "routes", "distributed", "ha")
    out: dict[str, Any] = {k: values[k] for k in plain if k in values}
    info = values.get("external_gateway_info")
    if info:
        out["gateway"] = GatewayRequest(
            network_id=info.get("network_id"),
            enable_snat=info.get("enable_snat"),
            external_fixed_ips=info.get("external_fixed_ips"),
        )
    out["given"] = frozenset(k for k in (*plain, "external_gateway_info") if k in values)
    return out


def _on_router(check: Check[Target], values: dict[str, Any]) -> Check[Owner]:
    """The interface rule on the router's owner and the request's subnet/port."""

    def check_owner(router: Owner) -> None:
        check({**owner_attrs(router.project_id), **values})

    return check_owner


def list_routers(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, ROUTER, max_limit(deps))
    items = [router_view(r) for r in deps.routers.list_items(ctx, params.query)]
    return render_list(request, ctx, ROUTER, items, params)


def create_router(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    values = _gateway(owner(validate(RouterCreate, unwrap(body, ROUTER, bulk=False)[0][0])))
    authorize_create(ctx, ROUTER, [values])
    spec = RouterSpec(
        **_change_fields(values),
        project_id=values.get("project_id"),
        availability_zone_hints=tuple(values.get("availability_zone_hints") or ()),
        tags=tuple(values.get("tags") or ()),
    )
    created = router_view(deps.routers.create(ctx, spec))
    return render_one(ctx, ROUTER, created, 201, hide_missing=False)


def show_router(router_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    router = router_view(deps.routers.show(ctx, router_id))
    return render_one(ctx, ROUTER, router, fields=fields_of(request))


def update_router(
    router_id: str, request: Request, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = _gateway(validate(RouterUpdate, unwrap(body, ROUTER, bulk=False)[0][0]))
    check = on_view(make_check(ctx, ROUTER, "update", values), router_view)
    changes = RouterChanges(**_change_fields(values))
    updated = deps.routers.update(ctx, router_id, changes, check, revision(request))
    return render_one(ctx, ROUTER, router_view(updated), hide_missing=False)


def delete_router(router_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    check = on_view(make_check(ctx, ROUTER, "delete", {}), router_view)
    deps.routers.delete(ctx, router_id, check, revision(request))
    return Response(status_code=204)


def add_router_interface(
    router_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(Interface, body)
    check = _on_router(simple_check(ctx, "add_router_interface"), values)
    subnet_id, port_id = values.get("subnet_id"), values.get("port_id")
    info = deps.router_interfaces.add(ctx, router_id, subnet_id, port_id, check)
    return JSONResponse(router_interface_view(info))


def remove_router_interface(
    router_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(Interface, body)
    check = _on_router(simple_check(ctx, "remove_router_interface"), values)
    subnet_id, port_id = values.get("subnet_id"), values.get("port_id")
    info = deps.router_interfaces.remove(ctx, router_id, subnet_id, port_id, check)
    return JSONResponse(router_interface_view(info))


def add_extraroutes(router_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    routes = validate(Routes, unwrap(body, ROUTER, bulk=False)[0][0])["routes"]
    check = on_view(simple_check(ctx, "add_extraroutes"), router_view)
    changed = deps.routers.change_routes(ctx, router_id, routes, True, check)
    return render_one(ctx, ROUTER, router_view(changed))


def remove_extraroutes(router_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    routes = validate(Routes, unwrap(body, ROUTER, bulk=False)[0][0])["routes"]
    check = on_view(simple_check(ctx, "remove_extraroutes"), router_view)
    changed = deps.routers.change_routes(ctx, router_id, routes, False, check)
    return render_one(ctx, ROUTER, router_view(changed))
