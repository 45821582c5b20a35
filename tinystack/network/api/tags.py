"""``/v2.0/{resources}/{id}/tags``: tags of networks, subnets, ports and the others."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.common.auth.context import RequestContext
from tinystack.network import models
from tinystack.network.api.bodies import JsonBody
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import simple_check
from tinystack.network.exception import http_bad_request, not_found
from tinystack.network.services.deps import Deps
from tinystack.network.services.standard_attrs import get_row

#: URL collection -> (service attribute, resource name, table)
TAGGABLE: dict[str, tuple[str, str, Any]] = {
    "networks": ("networks", "network", models.Network),
    "subnets": ("subnets", "subnet", models.Subnet),
    "ports": ("ports", "port", models.Port),
    "routers": ("routers", "router", models.Router),
    "floatingips": ("floatingips", "floatingip", models.FloatingIP),
    "security-groups": ("security_groups", "security_group", models.SecurityGroup),
    "subnetpools": ("subnetpools", "subnetpool", models.SubnetPool),
    "address-scopes": ("address_scopes", "address_scope", models.AddressScope),
}


def _authorize(
    ctx: RequestContext, deps: Deps, resources: str, resource_id: str, action: str
) -> Callable[[Session, str], Any]:
    """Check the caller may see the resource and change (or read) its tags; the row finder."""
    if resources not in TAGGABLE:
        raise not_found(resources, resource_id)
    attr, name, model = TAGGABLE[resources]
    item = getattr(deps, attr).show(ctx, resource_id)
    target = {**item, **item.get("_policy", {})}
    if not ctx.allowed(f"get_{name}", target):
        raise not_found(name, resource_id)
    simple_check(ctx, f"{action}_{name}:tags")(target)
    return lambda session, rid: get_row(session, model, name, rid)


def list_tags(resources: str, resource_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    find = _authorize(ctx, deps, resources, resource_id, "get")
    return JSONResponse({"tags": deps.tags.list_items(find, resource_id)})


def replace_tags(
    resources: str, resource_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    if not isinstance(body, dict) or "tags" not in body:
        raise http_bad_request("Invalid input for tags: the body must be {'tags': [...]}")
    find = _authorize(ctx, deps, resources, resource_id, "update")
    return JSONResponse({"tags": deps.tags.replace(find, resource_id, body["tags"])})


def clear_tags(resources: str, resource_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    find = _authorize(ctx, deps, resources, resource_id, "delete")
    deps.tags.clear(find, resource_id)
    return Response(status_code=204)


def check_tag(
    resources: str, resource_id: str, tag: str, ctx: ContextDep, deps: DepsDep
) -> Response:
    find = _authorize(ctx, deps, resources, resource_id, "get")
    deps.tags.has(find, resource_id, tag)
    return Response(status_code=204)


def add_tag(resources: str, resource_id: str, tag: str, ctx: ContextDep, deps: DepsDep) -> Response:
    find = _authorize(ctx, deps, resources, resource_id, "update")
    deps.tags.add(find, resource_id, tag)
    return Response(status_code=201)


def remove_tag(
    resources: str, resource_id: str, tag: str, ctx: ContextDep, deps: DepsDep
) -> Response:
    find = _authorize(ctx, deps, resources, resource_id, "delete")
    deps.tags.remove(find, resource_id, tag)
    return Response(status_code=204)
