"""``/servers/{id}/os-interface``: a server's ports, attach and detach."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from tinystack.common.exceptions import BadRequest, Conflict, NotFound
from tinystack.common.rpc import MessagingTimeout, RemoteError
from tinystack.compute import states
from tinystack.compute.api.bodies import body_part
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.microversion import Version
from tinystack.compute.api.openapi import policies, request_model
from tinystack.compute.api.rendering import json_response
from tinystack.compute.api.schemas import (
    AttachBody,
    InterfaceAttachRequest,
)
from tinystack.compute.context import CallContext
from tinystack.compute.services import instance_actions, servers

router = APIRouter(tags=["interfaces"])
P = "os_compute_api:os-attach-interfaces:%s"
ATTACHABLE = [states.ACTIVE, states.PAUSED, states.STOPPED, states.SUSPENDED]


def _view(vif: dict[str, Any], version: Version) -> dict[str, Any]:
    view = {
        "port_state": "ACTIVE" if vif.get("active", True) else "DOWN",
        "fixed_ips": [
            {"subnet_id": ip.get("subnet_id"), "ip_address": ip["ip_address"]}
            for ip in vif.get("fixed_ips", [])
        ],
        "port_id": vif["id"],
        "net_id": vif.get("network_id"),
        "mac_addr": vif.get("address"),
    }
    if version >= (2, 70):
        view["tag"] = vif.get("tag")
    return view


def _load(ctx: Any, deps: Any, server_id: str, rule: str) -> Any:
    return servers.get_authorized(deps, ctx, server_id, P % rule)


@router.get("/servers/{server_id}/os-interface", openapi_extra=policies(P % "list"))
def list_interfaces(
    server_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    inst = _load(ctx, deps, server_id, "list")
    return json_response(
        {"interfaceAttachments": [_view(v, version) for v in inst.network_info or []]}
    )


@router.get("/servers/{server_id}/os-interface/{port_id}", openapi_extra=policies(P % "show"))
def show_interface(
    server_id: str, port_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    inst = _load(ctx, deps, server_id, "show")
    for vif in inst.network_info or []:
        if vif["id"] == port_id:
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
    if not deps.network.available():
        raise BadRequest("Interfaces need the network service, which this cloud does not run.")
    call = CallContext.from_request(ctx)
    servers.check_lock(call, inst)
    servers.check_state(inst, "attach_interface", ATTACHABLE, [None])
    if not inst.host:
        raise Conflict(f"Instance {inst.uuid} is not ready")
    instance_actions.record_start(deps.db, call, inst.uuid, instance_actions.ATTACH_INTERFACE)
    try:
        attached = deps.agents.attach_interface(
            call,
            inst.host,
            inst.uuid,
            network_id=model.net_id,
            port_id=model.port_id,
            fixed_ip=model.fixed_ips[0].ip_address if model.fixed_ips else None,
            tag=model.tag,
        )
        vif: dict[str, Any] = attached.vif
    except RemoteError as exc:
        if exc.exc_type in ("ClientConflict", "Conflict"):
            raise Conflict(exc.message) from exc
        if exc.exc_type in ("ClientNotFound", "NotFound"):
            raise NotFound(exc.message) from exc
        raise BadRequest(
            f"Failed to attach network adapter device to {inst.uuid}: {exc.message}"
        ) from exc
    except MessagingTimeout as exc:
        raise Conflict(f"Attaching an interface to {inst.uuid} timed out") from exc
    return json_response({"interfaceAttachment": _view(vif, version)})


@router.delete(
    "/servers/{server_id}/os-interface/{port_id}",
    status_code=202,
    openapi_extra=policies(P % "delete"),
)
def detach_interface(server_id: str, port_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    inst = _load(ctx, deps, server_id, "delete")
    call = CallContext.from_request(ctx)
    servers.check_lock(call, inst)
    servers.check_state(inst, "detach_interface", ATTACHABLE, [None])
    if port_id not in {v["id"] for v in inst.network_info or []}:
        raise NotFound(f"Port {port_id} is not attached")
    instance_actions.record_start(deps.db, call, inst.uuid, instance_actions.DETACH_INTERFACE)
    deps.agents.detach_interface(call, inst.host or "", inst.uuid, port_id)
    return Response(status_code=202)
