"""``/v2.0/networks``: networks with the provider, multi-provider, external and MTU attributes."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, revision, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import authorize_create, make_check, on_view
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_many, render_one
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import NetworkCreate, NetworkUpdate, owner
from tinystack.network.api.views import network_view
from tinystack.network.services.networks import (
    PROVIDER_KEYS,
    NetworkChanges,
    NetworkSpec,
    RequestedSegment,
)

NETWORK = Resource(
    singular="network",
    plural="networks",
    filters=frozenset(
        """
            id name project_id tenant_id admin_state_up status shared router:external mtu
            port_security_enabled description subnets revision_number availability_zone_hints
            provider:network_type provider:physical_network provider:segmentation_id
            created_at updated_at qos_policy_id is_default
            """.split()
    ),
    sort_keys=frozenset(
        """
            id name project_id tenant_id status mtu admin_state_up shared router:external
            created_at updated_at revision_number
            """.split()
    ),
    defaults={
        "shared": False,
        "router:external": False,
        "admin_state_up": True,
        "tags": [],
        "is_default": False,
    },
)


def _spec(values: dict[str, Any]) -> NetworkSpec:
    provider = None
    if any(values.get(k) is not None for k in PROVIDER_KEYS):
        provider = RequestedSegment(*(values.get(k) for k in PROVIDER_KEYS))
    segments = tuple(
        RequestedSegment(*(raw.get(k) for k in PROVIDER_KEYS))
        for raw in values.get("segments") or ()
    )
    return NetworkSpec(
        project_id=values.get("project_id"),
        name=values.get("name"),
        description=values.get("description"),
        admin_state_up=values.get("admin_state_up"),
        port_security_enabled=values.get("port_security_enabled"),
        shared=bool(values.get("shared")),
        external=bool(values.get("router:external")),
        mtu=values.get("mtu"),
        availability_zone_hints=tuple(values.get("availability_zone_hints") or ()),
        tags=tuple(values.get("tags") or ()),
        provider=provider,
        segments=segments,
        qos_policy_id=values.get("qos_policy_id"),
        is_default=bool(values.get("is_default")),
        dns_domain=values.get("dns_domain") or "",
        given=frozenset(k for k in ("qos_policy_id",) if k in values),
    )


#: API attribute -> NetworkChanges field
_CHANGES = {
    "name": "name",
    "description": "description",
    "admin_state_up": "admin_state_up",
    "port_security_enabled": "port_security_enabled",
    "mtu": "mtu",
    "shared": "shared",
    "router:external": "external",
    "qos_policy_id": "qos_policy_id",
    "is_default": "is_default",
    "dns_domain": "dns_domain",
}


def _changes(values: dict[str, Any]) -> NetworkChanges:
    return NetworkChanges(
        name=values.get("name"),
        description=values.get("description"),
        admin_state_up=values.get("admin_state_up"),
        port_security_enabled=values.get("port_security_enabled"),
        mtu=values.get("mtu"),
        shared=values.get("shared"),
        external=values.get("router:external"),
        qos_policy_id=values.get("qos_policy_id"),
        is_default=values.get("is_default"),
        dns_domain=values.get("dns_domain"),
        touches_provider=any(k in values for k in (*PROVIDER_KEYS, "segments")),
        given=frozenset(_CHANGES[k] for k in _CHANGES if k in values),
    )


def list_networks(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, NETWORK, max_limit(deps))
    items = [network_view(n) for n in deps.networks.list_items(ctx, params.query)]
    return render_list(request, ctx, NETWORK, items, params)


def create_network(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    items, bulk = unwrap(body, NETWORK)
    values = [owner(validate(NetworkCreate, item)) for item in items]
    authorize_create(ctx, NETWORK, values)
    created = [network_view(n) for n in deps.networks.create_bulk(ctx, [_spec(v) for v in values])]
    if bulk:
        return render_many(ctx, NETWORK, created)
    return render_one(ctx, NETWORK, created[0], 201, hide_missing=False)


def show_network(network_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    network = network_view(deps.networks.show(ctx, network_id))
    return render_one(ctx, NETWORK, network, fields=fields_of(request))


def update_network(
    network_id: str, request: Request, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(NetworkUpdate, unwrap(body, NETWORK, bulk=False)[0][0])
    check = on_view(make_check(ctx, NETWORK, "update", values), network_view)
    updated = deps.networks.update(ctx, network_id, _changes(values), check, revision(request))
    return render_one(ctx, NETWORK, network_view(updated), hide_missing=False)


def delete_network(network_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    check = on_view(make_check(ctx, NETWORK, "delete", {}), network_view)
    deps.networks.delete(ctx, network_id, check, revision(request))
    return Response(status_code=204)
