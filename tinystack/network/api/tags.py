"""``/v2.0/{resources}/{id}/tags``: tags of networks, subnets, ports and the others."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.common.auth.context import RequestContext
from tinystack.network.api.bodies import JsonBody
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import Target, simple_check
from tinystack.network.api.segments import segment_view
from tinystack.network.api.views import (
    address_scope_view,
    floatingip_view,
    network_view,
    port_view,
    router_view,
    security_group_view,
    subnet_view,
    subnetpool_view,
)
from tinystack.network.exception import http_bad_request, not_found
from tinystack.network.services.deps import Deps

#: URL collection -> (resource name, the resource as its policy rules read it)
TAGGABLE: dict[str, tuple[str, Callable[[Deps, RequestContext, str], Target]]] = {
    "networks": ("network", lambda deps, ctx, rid: network_view(deps.networks.show(ctx, rid))),
    "subnets": ("subnet", lambda deps, ctx, rid: subnet_view(deps.subnets.show(ctx, rid))),
    "ports": ("port", lambda deps, ctx, rid: port_view(deps.ports.show(ctx, rid))),
    "routers": ("router", lambda deps, ctx, rid: router_view(deps.routers.show(ctx, rid))),
    "floatingips": (
        "floatingip",
        lambda deps, ctx, rid: floatingip_view(deps.floatingips.show(ctx, rid)),
    ),
    "security-groups": (
        "security_group",
        lambda deps, ctx, rid: security_group_view(deps.security_groups.show(ctx, rid)),
    ),
    "subnetpools": (
        "subnetpool",
        lambda deps, ctx, rid: subnetpool_view(deps.subnetpools.show(ctx, rid)),
    ),
    "address-scopes": (
        "address_scope",
        lambda deps, ctx, rid: address_scope_view(deps.address_scopes.show(ctx, rid)),
    ),
    "segments": ("segment", lambda deps, ctx, rid: segment_view(deps.segments.show(ctx, rid))),
}


def rules(action: str) -> tuple[str, ...]:
    """The rules a tag route checks: seeing the resource and ``<action>_<resource>:tags``."""
    names = [name for name, _load in TAGGABLE.values()]
    return (*(f"get_{n}" for n in names), *(f"{action}_{n}:tags" for n in names))


def _authorize(
    ctx: RequestContext, deps: Deps, resources: str, resource_id: str, action: str
) -> str:
    """Check the caller may see the resource and change (or read) its tags; its name."""
    if resources not in TAGGABLE:
        raise not_found(resources, resource_id)
    name, load = TAGGABLE[resources]
    item = load(deps, ctx, resource_id)
    target = {**item, **item.get("_policy", {})}
    if not ctx.allowed(f"get_{name}", target):
        raise not_found(name, resource_id)
    simple_check(ctx, f"{action}_{name}:tags")(target)
    return name


def list_tags(resources: str, resource_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    resource = _authorize(ctx, deps, resources, resource_id, "get")
    return JSONResponse({"tags": deps.tags.list_items(resource, resource_id)})


def replace_tags(
    resources: str, resource_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    if not isinstance(body, dict) or "tags" not in body:
        raise http_bad_request("Invalid input for tags: the body must be {'tags': [...]}")
    resource = _authorize(ctx, deps, resources, resource_id, "update")
    return JSONResponse({"tags": deps.tags.replace(resource, resource_id, body["tags"])})


def clear_tags(resources: str, resource_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    resource = _authorize(ctx, deps, resources, resource_id, "delete")
    deps.tags.clear(resource, resource_id)
    return Response(status_code=204)


def check_tag(
    resources: str, resource_id: str, tag: str, ctx: ContextDep, deps: DepsDep
) -> Response:
    resource = _authorize(ctx, deps, resources, resource_id, "get")
    deps.tags.has(resource, resource_id, tag)
    return Response(status_code=204)


def add_tag(resources: str, resource_id: str, tag: str, ctx: ContextDep, deps: DepsDep) -> Response:
    resource = _authorize(ctx, deps, resources, resource_id, "update")
    deps.tags.add(resource, resource_id, tag)
    return Response(status_code=201)


def remove_tag(
    resources: str, resource_id: str, tag: str, ctx: ContextDep, deps: DepsDep
) -> Response:
    resource = _authorize(ctx, deps, resources, resource_id, "delete")
    deps.tags.remove(resource, resource_id, tag)
    return Response(status_code=204)
