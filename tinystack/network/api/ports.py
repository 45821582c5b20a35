"""``/v2.0/ports``: fixed IPs, MACs, security groups, address pairs and host bindings."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.common.rpc.context import CallContext
from tinystack.network.api.bodies import JsonBody, revision, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import make_check, on_view
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_many, render_one
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import PortCreate, PortUpdate, owner
from tinystack.network.api.views import owner as owner_attrs
from tinystack.network.api.views import port_view
from tinystack.network.services.ports import PortChanges, PortSpec, PortTarget

PORT = Resource(
    singular="port",
    plural="ports",
    filters=frozenset(
        """
            id name project_id tenant_id network_id admin_state_up status mac_address
            device_id device_owner fixed_ips security_groups port_security_enabled
            binding:host_id binding:vif_type binding:vnic_type description revision_number
            ip_allocation created_at updated_at qos_policy_id dns_name
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


#: API attribute -> PortChanges field
_CHANGES = {
    "name": "name",
    "description": "description",
    "admin_state_up": "admin_state_up",
    "mac_address": "mac_address",
    "fixed_ips": "fixed_ips",
    "device_id": "device_id",
    "device_owner": "device_owner",
    "security_groups": "security_groups",
    "allowed_address_pairs": "allowed_address_pairs",
    "port_security_enabled": "port_security_enabled",
    "extra_dhcp_opts": "extra_dhcp_opts",
    "binding:host_id": "host_id",
    "binding:vnic_type": "vnic_type",
    "binding:profile": "profile",
    "qos_policy_id": "qos_policy_id",
    "dns_name": "dns_name",
    "dns_domain": "dns_domain",
}


def _change_fields(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        field: values[attr] for attr, field in _CHANGES.items() if attr in values
    }
    out["given"] = frozenset(out)
    return out


def port_spec(values: dict[str, Any]) -> PortSpec:
    """A create request's attributes as the service takes them."""
    return PortSpec(
        **_change_fields(values),
        network_id=values["network_id"],
        project_id=values.get("project_id"),
        tags=tuple(values.get("tags") or ()),
    )


def list_ports(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, PORT, max_limit(deps))
    items = [port_view(p) for p in deps.ports.list_items(ctx, params.query)]
    return render_list(request, ctx, PORT, items, params)


def create_port(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    items, bulk = unwrap(body, PORT)
    values = [owner(validate(PortCreate, item)) for item in items]
    base = make_check(ctx, PORT, "create")

    def check(target: PortTarget) -> None:
        base(
            {
                **values[target.index],
                **owner_attrs(target.project_id),
                "device_owner": target.device_owner,
                "network:project_id": target.network_project_id,
                "network:tenant_id": target.network_project_id,
                "shared": target.network_shared,
            }
        )

    specs = [port_spec(v) for v in values]
    created = [port_view(p) for p in deps.ports.create_bulk(ctx, specs, check)]
    for port in created:  # Neutron's API layer announces what it rendered
        deps.notifier.info(CallContext.from_request(ctx), "port.create.end", {"port": port})
    if bulk:
        return render_many(ctx, PORT, created)
    return render_one(ctx, PORT, created[0], 201, hide_missing=False)


def show_port(port_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    port = port_view(deps.ports.show(ctx, port_id))
    return render_one(ctx, PORT, port, fields=fields_of(request))


def update_port(
    port_id: str, request: Request, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(PortUpdate, unwrap(body, PORT, bulk=False)[0][0])
    check = on_view(make_check(ctx, PORT, "update", values), port_view)
    changes = PortChanges(**_change_fields(values))
    updated = deps.ports.update(ctx, port_id, changes, check, revision(request))
    return render_one(ctx, PORT, port_view(updated), hide_missing=False)


def delete_port(port_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    check = on_view(make_check(ctx, PORT, "delete", {}), port_view)
    deps.ports.delete(ctx, port_id, check, revision(request))
    return Response(status_code=204)
