"""``/v2.0/subnets``: IPv4 and IPv6 subnets, allocation pools, DNS, routes, subnet pools."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, check_uuids, revision, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import make_check, on_view
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_many, render_one
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import SubnetCreate, SubnetUpdate, owner
from tinystack.network.api.views import owner as owner_attrs
from tinystack.network.api.views import subnet_view
from tinystack.network.services.subnets import SubnetChanges, SubnetSpec, SubnetTarget

SUBNET = Resource(
    singular="subnet",
    plural="subnets",
    filters=frozenset(
        """
            id name project_id tenant_id network_id ip_version cidr gateway_ip enable_dhcp
            ipv6_ra_mode ipv6_address_mode subnetpool_id segment_id description revision_number
            dns_nameservers host_routes allocation_pools service_types router:external
            created_at updated_at
            """.split()
    ),
    sort_keys=frozenset(
        """
            id name project_id tenant_id network_id ip_version cidr gateway_ip enable_dhcp
            created_at updated_at revision_number segment_id
            """.split()
    ),
    defaults={"tags": [], "service_types": [], "segment_id": None},
)


_CHANGES = (
    "name description gateway_ip allocation_pools dns_nameservers host_routes enable_dhcp "
    "service_types segment_id"
).split()


def _change_fields(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: values[k] for k in _CHANGES if k in values}
    if out.get("segment_id") is not None:
        check_uuids("segment_id", out["segment_id"])
    if out.get("service_types") is not None:
        out["service_types"] = tuple(out["service_types"])
    out["given"] = frozenset(k for k in _CHANGES if k in values)
    return out


def subnet_spec(values: dict[str, Any]) -> SubnetSpec:
    """A create request's attributes as the service takes them."""
    return SubnetSpec(
        **_change_fields(values),
        network_id=values["network_id"],
        project_id=values.get("project_id"),
        ip_version=values.get("ip_version"),
        cidr=values.get("cidr"),
        ipv6_ra_mode=values.get("ipv6_ra_mode"),
        ipv6_address_mode=values.get("ipv6_address_mode"),
        subnetpool_id=values.get("subnetpool_id"),
        use_default_subnet_pool=bool(values.get("use_default_subnet_pool")),
        prefixlen=values.get("prefixlen"),
        tags=tuple(values.get("tags") or ()),
    )


def list_subnets(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, SUBNET, max_limit(deps))
    items = [subnet_view(s) for s in deps.subnets.list_items(ctx, params.query)]
    return render_list(request, ctx, SUBNET, items, params)


def create_subnet(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    items, bulk = unwrap(body, SUBNET)
    values = [owner(validate(SubnetCreate, item)) for item in items]
    base = make_check(ctx, SUBNET, "create")

    def check(target: SubnetTarget) -> None:
        base(
            {
                **values[target.index],
                **owner_attrs(target.project_id),
                "network:project_id": target.network_project_id,
                "network:tenant_id": target.network_project_id,
                "shared": target.network_shared,
                "router:external": target.network_external,
            }
        )

    specs = [subnet_spec(v) for v in values]
    created = [subnet_view(s) for s in deps.subnets.create_bulk(ctx, specs, check)]
    if bulk:
        return render_many(ctx, SUBNET, created)
    return render_one(ctx, SUBNET, created[0], 201, hide_missing=False)


def show_subnet(subnet_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    subnet = subnet_view(deps.subnets.show(ctx, subnet_id))
    return render_one(ctx, SUBNET, subnet, fields=fields_of(request))


def update_subnet(
    subnet_id: str, request: Request, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(SubnetUpdate, unwrap(body, SUBNET, bulk=False)[0][0])
    check = on_view(make_check(ctx, SUBNET, "update", values), subnet_view)
    changes = SubnetChanges(**_change_fields(values))
    updated = deps.subnets.update(ctx, subnet_id, changes, check, revision(request))
    return render_one(ctx, SUBNET, subnet_view(updated), hide_missing=False)


def delete_subnet(subnet_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    check = on_view(make_check(ctx, SUBNET, "delete", {}), subnet_view)
    deps.subnets.delete(ctx, subnet_id, check, revision(request))
    return Response(status_code=204)
