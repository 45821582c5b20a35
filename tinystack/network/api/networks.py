"""``/v2.0/networks``: networks with the provider, multi-provider, external and MTU attributes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.common import (
    JsonBody,
    Resource,
    fields_of,
    list_params,
    max_limit,
    render_list,
    render_many,
    render_one,
    revision,
    unwrap,
    validate,
)
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import make_check
from tinystack.network.api.models import Body, Description, Int, Name, Owned, owner

router = APIRouter(tags=["networks"])

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


class NetworkUpdate(Body):
    name: str | None = Name
    description: str | None = Description
    admin_state_up: bool | None = None
    shared: bool | None = None
    router_external: bool | None = Field(default=None, alias="router:external")
    mtu: Int | None = None
    port_security_enabled: bool | None = None
    network_type: str | None = Field(default=None, alias="provider:network_type")
    physical_network: str | None = Field(default=None, alias="provider:physical_network")
    segmentation_id: Int | None = Field(default=None, alias="provider:segmentation_id")
    segments: list[dict[str, Any]] | None = None


class NetworkCreate(Owned, NetworkUpdate):
    availability_zone_hints: list[str] | None = None
    tags: list[str] | None = None


@router.get("/v2.0/networks")
def list_networks(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, NETWORK, max_limit(deps))
    return render_list(request, ctx, NETWORK, deps.networks.list_items(ctx, params.query), params)


@router.post("/v2.0/networks", status_code=201)
def create_network(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    items, bulk = unwrap(body, NETWORK)
    values = [owner(validate(NetworkCreate, item)) for item in items]
    created = deps.networks.create_bulk(ctx, values, make_check(ctx, NETWORK, "create"))
    if bulk:
        return render_many(ctx, NETWORK, created)
    return render_one(ctx, NETWORK, created[0], 201, hide_missing=False)


@router.get("/v2.0/networks/{network_id}")
def show_network(network_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    return render_one(ctx, NETWORK, deps.networks.show(ctx, network_id), fields=fields_of(request))


@router.put("/v2.0/networks/{network_id}")
def update_network(
    network_id: str, request: Request, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(NetworkUpdate, unwrap(body, NETWORK, bulk=False)[0][0])
    check = make_check(ctx, NETWORK, "update", values)
    updated = deps.networks.update(ctx, network_id, values, check, revision(request))
    return render_one(ctx, NETWORK, updated, hide_missing=False)


@router.delete("/v2.0/networks/{network_id}", status_code=204)
def delete_network(network_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    deps.networks.delete(ctx, network_id, make_check(ctx, NETWORK, "delete", {}), revision(request))
    return Response(status_code=204)
