"""``/v2.0/ports``: fixed IPs, MACs, security groups, address pairs and host bindings."""

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
from tinystack.network.api.schemas import PortCreate, PortUpdate, owner

PORT = Resource(
    singular="port",
    plural="ports",
    filters=frozenset(
        """
            id name project_id tenant_id network_id admin_state_up status mac_address
            device_id device_owner fixed_ips security_groups port_security_enabled
            binding:host_id binding:vif_type binding:vnic_type description revision_number
            ip_allocation created_at updated_at
            """.split()
    ),
    sort_keys=frozenset(
        """
            id name project_id tenant_id network_id admin_state_up status mac_address
            device_id device_owner created_at updated_at revision_number binding:host_id
            """.split()
    ),
    defaults={
        "device_owner": "",
        "device_id": "",
        "binding:vnic_type": "normal",
        "binding:host_id": "",
        "binding:profile": {},
        "allowed_address_pairs": [],
        "extra_dhcp_opts": [],
        "tags": [],
    },
)


def list_ports(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, PORT, max_limit(deps))
    return render_list(request, ctx, PORT, deps.ports.list_items(ctx, params.query), params)


def create_port(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    items, bulk = unwrap(body, PORT)
    values = [owner(validate(PortCreate, item)) for item in items]
    created = deps.ports.create_bulk(ctx, values, make_check(ctx, PORT, "create"))
    if bulk:
        return render_many(ctx, PORT, created)
    return render_one(ctx, PORT, created[0], 201, hide_missing=False)


def show_port(port_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    return render_one(ctx, PORT, deps.ports.show(ctx, port_id), fields=fields_of(request))


def update_port(
    port_id: str, request: Request, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(PortUpdate, unwrap(body, PORT, bulk=False)[0][0])
    check = make_check(ctx, PORT, "update", values)
    updated = deps.ports.update(ctx, port_id, values, check, revision(request))
    return render_one(ctx, PORT, updated, hide_missing=False)


def delete_port(port_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    deps.ports.delete(ctx, port_id, make_check(ctx, PORT, "delete", {}), revision(request))
    return Response(status_code=204)
