"""``/v2.0/subnets``: IPv4 and IPv6 subnets, allocation pools, DNS, routes, subnet pools."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, revision, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import make_check
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_many, render_one
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import SubnetCreate, SubnetUpdate, owner

SUBNET = Resource(
    singular="subnet",
    plural="subnets",
    filters=frozenset(
        """
            id name project_id tenant_id network_id ip_version cidr gateway_ip enable_dhcp
            ipv6_ra_mode ipv6_address_mode subnetpool_id description revision_number
            dns_nameservers host_routes allocation_pools service_types router:external
            created_at updated_at
            """.split()
    ),
    sort_keys=frozenset(
        """
            id name project_id tenant_id network_id ip_version cidr gateway_ip enable_dhcp
            created_at updated_at revision_number
            """.split()
    ),
    defaults={"tags": [], "service_types": []},
)


def list_subnets(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, SUBNET, max_limit(deps))
    return render_list(request, ctx, SUBNET, deps.subnets.list_items(ctx, params.query), params)


def create_subnet(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    items, bulk = unwrap(body, SUBNET)
    values = [owner(validate(SubnetCreate, item)) for item in items]
    created = deps.subnets.create_bulk(ctx, values, make_check(ctx, SUBNET, "create"))
    if bulk:
        return render_many(ctx, SUBNET, created)
    return render_one(ctx, SUBNET, created[0], 201, hide_missing=False)


def show_subnet(subnet_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    return render_one(ctx, SUBNET, deps.subnets.show(ctx, subnet_id), fields=fields_of(request))


def update_subnet(
    subnet_id: str, request: Request, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(SubnetUpdate, unwrap(body, SUBNET, bulk=False)[0][0])
    check = make_check(ctx, SUBNET, "update", values)
    updated = deps.subnets.update(ctx, subnet_id, values, check, revision(request))
    return render_one(ctx, SUBNET, updated, hide_missing=False)


def delete_subnet(subnet_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    deps.subnets.delete(ctx, subnet_id, make_check(ctx, SUBNET, "delete", {}), revision(request))
    return Response(status_code=204)
