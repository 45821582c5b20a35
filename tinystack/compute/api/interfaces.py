"""``/servers/{id}/os-interface``: a server's ports, attach and detach."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.common.rpc.context import CallContext
from tinystack.compute.api.bodies import body_part
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.microversion import Version
from tinystack.compute.api.rendering import json_response
from tinystack.compute.api.schemas import (
    AttachBody,
    InterfaceAttachRequest,
)
from tinystack.compute.services import interfaces, servers
from tinystack.compute.services.deps import Deps

router = APIRouter(tags=["interfaces"])
P = "os_compute_api:os-attach-interfaces:%s"


def _view(vif: interfaces.InterfaceRecord, version: Version) -> dict[str, Any]:
    view: dict[str, Any] = {
        "port_state": "ACTIVE" if vif.active else "DOWN",
        "fixed_ips": [
            {"subnet_id": ip.subnet_id, "ip_address": ip.ip_address} for ip in vif.fixed_ips
        ],
        "port_id": vif.port_id,
        "net_id": vif.net_id,
        "mac_addr": vif.mac_addr,
    }
    if version >= (2, 70):
        view["tag"] = vif.tag
    return view


def _load(ctx: RequestContext, deps: Deps, server_id: str, rule: str) -> Any:
    return servers.get_authorized(deps, ctx, server_id, P % rule)


@router.get("/servers/{server_id}/os-interface", openapi_extra=policies(P % "list"))
def list_interfaces(
    server_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    inst = _load(ctx, deps, server_id, "list")
    found = interfaces.list_for(inst)
    return json_response({"interfaceAttachments": [_view(v, version) for v in found]})


@router.get("/servers/{server_id}/os-interface/{port_id}", openapi_extra=policies(P % "show"))
def show_interface(
    server_id: str, port_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    inst = _load(ctx, deps, server_id, "show")
    for vif in interfaces.list_for(inst):
        if vif.port_id == port_id:
            return json_response({"interfaceAttachment": _view(vif, version)})
    raise NotFound(f"Instance {inst.uuid} is not attached to port {port_id}.")


@router.post(
    "/servers/{server_id}/os-interface",
    openapi_extra=policies(P % "create") | request_model(InterfaceAttachRequest),
)
def attach_interface(
    server_id: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: dict[str, Any] = Body(...),
) -> Response:
    inst = _load(ctx, deps, server_id, "create")
    data = body_part(body, "interfaceAttachment")
    if "tag" in data and version < (2, 49):
        raise BadRequest("Additional properties are not allowed ('tag' was unexpected)")
    model = AttachBody.model_validate(data)
    if model.net_id and model.port_id:
        raise BadRequest("Must not input both network_id and port_id")
    vif = interfaces.attach(
        deps,
        CallContext.from_request(ctx),
        inst,
        network_id=model.net_id,
        port_id=model.port_id,
        fixed_ip=model.fixed_ips[0].ip_address if model.fixed_ips else None,
        tag=model.tag,
    )
    return json_response({"interfaceAttachment": _view(vif, version)})


@router.delete(
    "/servers/{server_id}/os-interface/{port_id}",
    status_code=202,
    openapi_extra=policies(P % "delete"),
)
def detach_interface(server_id: str, port_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    inst = _load(ctx, deps, server_id, "delete")
    interfaces.detach(deps, CallContext.from_request(ctx), inst, port_id)
    return Response(status_code=202)
