"""``/v2.0/networks``: networks with the provider, multi-provider, external and MTU attributes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, revision, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import make_check
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import NetworkCreate, NetworkUpdate, owner
from tinystack.network.api.views import render_list, render_many, render_one

NETWORK = Resource(
    singular="network",
    plural="networks",
    filters=frozenset(
        """
            id name project_id tenant_id admin_state_up status shared router:external mtu
            port_security_enabled description subnets revision_number availability_zone_hints
            provider:network_type provider:physical_network provider:segmentation_id
            created_at updated_at
            """.split()
    ),
    sort_keys=frozenset(
        """
            id name project_id tenant_id status mtu admin_state_up shared router:external
            created_at updated_at revision_number
            """.split()
    ),
    defaults={"shared": False, "router:external": False, "admin_state_up": True, "tags": []},
)


def list_networks(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, NETWORK, max_limit(deps))
    return render_list(request, ctx, NETWORK, deps.networks.list_items(ctx, params.query), params)


def create_network(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    items, bulk = unwrap(body, NETWORK)
    values = [owner(validate(NetworkCreate, item)) for item in items]
    created = deps.networks.create_bulk(ctx, values, make_check(ctx, NETWORK, "create"))
    if bulk:
        return render_many(ctx, NETWORK, created)
    return render_one(ctx, NETWORK, created[0], 201, hide_missing=False)


def show_network(network_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    return render_one(ctx, NETWORK, deps.networks.show(ctx, network_id), fields=fields_of(request))


def update_network(
    network_id: str, request: Request, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(NetworkUpdate, unwrap(body, NETWORK, bulk=False)[0][0])
    check = make_check(ctx, NETWORK, "update", values)
    updated = deps.networks.update(ctx, network_id, values, check, revision(request))
    return render_one(ctx, NETWORK, updated, hide_missing=False)


def delete_network(network_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    deps.networks.delete(ctx, network_id, make_check(ctx, NETWORK, "delete", {}), revision(request))
    return Response(status_code=204)
