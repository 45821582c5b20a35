"""``/v2.0/ports``: fixed IPs, MACs, security groups, address pairs and host bindings."""

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
from tinystack.network.api.models import Body, Description, Name, Owned, owner

router = APIRouter(tags=["ports"])

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


class PortUpdate(Body):
    name: str | None = Name
    description: str | None = Description
    admin_state_up: bool | None = None
    mac_address: str | None = None
    fixed_ips: list[Any] | None = None
    device_id: str | None = Field(default=None, max_length=255)
    device_owner: str | None = Field(default=None, max_length=255)
    security_groups: list[str] | None = None
    allowed_address_pairs: list[Any] | None = None
    port_security_enabled: bool | None = None
    extra_dhcp_opts: list[Any] | None = None
    host_id: str | None = Field(default=None, alias="binding:host_id", max_length=255)
    vnic_type: str | None = Field(default=None, alias="binding:vnic_type")
    profile: dict[str, Any] | None = Field(default=None, alias="binding:profile")


class PortCreate(Owned, PortUpdate):
    network_id: str
    tags: list[str] | None = None


@router.get("/v2.0/ports")
def list_ports(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, PORT, max_limit(deps))
    return render_list(request, ctx, PORT, deps.ports.list_items(ctx, params.query), params)


@router.post("/v2.0/ports", status_code=201)
def create_port(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    items, bulk = unwrap(body, PORT)
    values = [owner(validate(PortCreate, item)) for item in items]
    created = deps.ports.create_bulk(ctx, values, make_check(ctx, PORT, "create"))
    if bulk:
        return render_many(ctx, PORT, created)
    return render_one(ctx, PORT, created[0], 201, hide_missing=False)


@router.get("/v2.0/ports/{port_id}")
def show_port(port_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    return render_one(ctx, PORT, deps.ports.show(ctx, port_id), fields=fields_of(request))


@router.put("/v2.0/ports/{port_id}")
def update_port(
    port_id: str, request: Request, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(PortUpdate, unwrap(body, PORT, bulk=False)[0][0])
    check = make_check(ctx, PORT, "update", values)
    updated = deps.ports.update(ctx, port_id, values, check, revision(request))
    return render_one(ctx, PORT, updated, hide_missing=False)


@router.delete("/v2.0/ports/{port_id}", status_code=204)
def delete_port(port_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    deps.ports.delete(ctx, port_id, make_check(ctx, PORT, "delete", {}), revision(request))
    return Response(status_code=204)
