"""``/servers``: create, list (and detail), show, update, delete."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Body
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest
from tinystack.common.rpc.context import CallContext
from tinystack.compute.api import servers_view
from tinystack.compute.api.bodies import body_part, gate, unexpected
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.microversion import Version
from tinystack.compute.api.rendering import json_response, link
from tinystack.compute.api.schemas import (
    ServerCreate,
    ServerCreateRequest,
    ServerUpdate,
    ServerUpdateRequest,
    is_uuid,
    parse_hostname,
)
from tinystack.compute.api.server_list import list_view
from tinystack.compute.services import boot_volumes, server_create, servers
from tinystack.compute.services.deps import Deps
from tinystack.compute.services.server_create import CreateRequest, NetworkRequest

router = APIRouter(tags=["servers"])
P = "os_compute_api:servers:%s"


CREATE_GATES = {
    "description": (2, 19),
    "tags": (2, 52),
    "trusted_image_certificates": (2, 63),
    "host": (2, 74),
    "hypervisor_hostname": (2, 74),
    "hostname": (2, 90),
    "personality": (2, -57),
}
UPDATE_GATES = {"description": (2, 19), "hostname": (2, 90)}


def _networks_allowed_tag(version: Version) -> bool:
    return version == (2, 32) or (2, 33) <= version < (2, 37) or version >= (2, 42)


def _parse_networks(data: dict[str, Any], model: ServerCreate, version: Version) -> Any:
    raw = data.get("networks")
    if version >= (2, 37) and "networks" not in data:
        raise BadRequest(
            "Invalid input for field/attribute server. 'networks' is a required property"
        )
    if isinstance(raw, str) and version < (2, 37):
        raise BadRequest(f"Invalid input for field/attribute networks. Value: {raw}.")
    if not isinstance(model.networks, list):
        return model.networks if model.networks is not None else "auto"
    requests = []
    for item in model.networks:
        if item.tag is not None and not _networks_allowed_tag(version):
            raise unexpected(["tag"])
        if version >= (2, 37) and item.uuid is not None and not is_uuid(item.uuid):
            raise BadRequest(
                f"Invalid input for field/attribute uuid. Value: {item.uuid}. "
                f"'{item.uuid}' is not a 'uuid'"
            )
        if not item.uuid and not item.port:
            raise BadRequest("Bad networks format: network uuid is not in proper format (None)")
        requests.append(
            NetworkRequest(
                network_id=item.uuid, port_id=item.port, fixed_ip=item.fixed_ip, tag=item.tag
            )
        )
    return requests


def _scheduler_hints(body: dict[str, Any]) -> dict[str, Any]:
    hints = body.get("os:scheduler_hints") or body.get("OS-SCH-HNT:scheduler_hints") or {}
    if not isinstance(hints, dict):
        raise BadRequest("Invalid input for field/attribute os:scheduler_hints.")
    group = hints.get("group")
    if group is not None:
        values = group if isinstance(group, list) else [group]
        if not all(isinstance(v, str) and is_uuid(v) for v in values):
            raise BadRequest(f"Invalid input for field/attribute group. Value: {group}.")
    return dict(hints)


def _create_request(body: dict[str, Any], version: Version) -> tuple[CreateRequest, ServerCreate]:
    allowed = {"server", "os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"}
    extra = sorted(set(body) - allowed)
    if extra:
        raise unexpected(extra)
    data = body_part(body, "server")
    gate(data, version, CREATE_GATES)
    model = ServerCreate.model_validate(data)
    if model.imageRef and not is_uuid(model.imageRef):
        raise BadRequest(
            f"Invalid input for field/attribute imageRef. Value: {model.imageRef}. "
            f"'{model.imageRef}' is not a 'uuid'"
        )
    for bdm in model.block_device_mapping_v2 or []:
        if bdm.tag is not None and not (version == (2, 32) or version >= (2, 42)):
            raise unexpected(["tag"])
        if bdm.volume_type is not None and version < (2, 67):
            raise unexpected(["volume_type"])
    hostname = None
    if model.hostname is not None:
        try:
            hostname = parse_hostname(model.hostname, fqdn=version >= (2, 94))
        except ValueError as exc:
            raise BadRequest(f"Invalid input for field/attribute hostname. {exc}") from None
    zone, forced_host, forced_node = model.availability_zone, None, None
    if zone and ":" in zone:
        zone, _, rest = zone.partition(":")
        forced_host, _, forced_node = rest.partition(":")
        zone = zone or None
    req = CreateRequest(
        name=model.name,
        flavor_ref=str(model.flavorRef),
        image_ref=model.imageRef or None,
        networks=_parse_networks(data, model, version),
        networks_auto_asked=version >= (2, 37) and data.get("networks") == "auto",
        key_name=model.key_name,
        user_data=model.user_data,
        metadata=dict(model.metadata or {}),
        security_groups=[g.name for g in model.security_groups or []],
        availability_zone=zone,
        min_count=model.min_count or 1,
        max_count=model.max_count or model.min_count or 1,
        block_device_mapping=_block_devices(model),
        tags=list(model.tags or []),
        hostname=hostname,
        description=model.description,
        access_ip_v4=model.accessIPv4,
        access_ip_v6=model.accessIPv6,
        config_drive=bool(model.config_drive),
        admin_password=model.adminPass,
        scheduler_hints=_scheduler_hints(body),
        host=model.host,
        hypervisor_hostname=model.hypervisor_hostname,
        forced_host=forced_host or None,
        forced_node=forced_node or None,
        auto_disk_config=model.disk_config == "AUTO",
        trusted_certs=model.trusted_image_certificates,
        allow_fqdn_hostname=version >= (2, 94),
        supports_multiattach=version >= (2, 60),
    )
    return req, model


def _block_devices(model: ServerCreate) -> list[dict[str, Any]]:
    """``block_device_mapping_v2``, or the legacy ``block_device_mapping`` in its terms."""
    if model.block_device_mapping and model.block_device_mapping_v2:
        raise BadRequest(
            "Using different block_device_mapping syntaxes is not allowed in the same request."
        )
    if model.block_device_mapping:
        return boot_volumes.from_legacy(model.block_device_mapping, bool(model.imageRef))
    return [b.model_dump(exclude_none=True) for b in model.block_device_mapping_v2 or []]


@router.post(
    "/servers",
    status_code=202,
    openapi_extra=policies(
        P % "create",
        P % "create:forced_host",
        "compute:servers:create:requested_destination",
        P % "create:attach_network",
        P % "create:attach_volume",
        P % "create:trusted_certs",
        P % "create:zero_disk_flavor",
    )
    | request_model(ServerCreateRequest),
)
def create_server(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: dict[str, Any] = Body(...),
) -> Response:
    own = {"project_id": ctx.project_id, "user_id": ctx.user_id}
    ctx.can(P % "create", own)
    req, model = _create_request(body, version)
    if req.forced_host or req.forced_node:
        ctx.can(P % "create:forced_host", own)
    if req.host or req.hypervisor_hostname:
        ctx.can("compute:servers:create:requested_destination", own)
    if isinstance(req.networks, list) and req.networks:
        ctx.can(P % "create:attach_network", own)
    if req.block_device_mapping:
        ctx.can(P % "create:attach_volume", own)
    if req.trusted_certs:
        ctx.can(P % "create:trusted_certs", own)
    if req.admin_password is None:
        req.admin_password = secrets.token_urlsafe(9)[:12]
    result = server_create.create(deps, CallContext.from_request(ctx), req)
    servers.settle(deps, result.instances[-1].uuid)
    if model.return_reservation_id:
        return json_response({"reservation_id": result.reservation_id}, 202)
    first = result.instances[0]
    server: dict[str, Any] = {
        "id": first.uuid,
        "links": link(request, "servers", first.uuid),
        "OS-DCF:diskConfig": "AUTO" if first.auto_disk_config else "MANUAL",
        "security_groups": [{"name": g} for g in first.security_groups or ["default"]],
        "adminPass": result.admin_password,
    }
    base = str(request.base_url).rstrip("/")
    return json_response(
        {"server": server}, 202, headers={"Location": f"{base}/v2.1/servers/{first.uuid}"}
    )


@router.get("/servers", openapi_extra=policies(P % "index", P % "index:get_all_tenants"))
def list_servers(request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    ctx.can(P % "index", {"project_id": ctx.project_id})
    return json_response(list_view(request, ctx, deps, version, detail=False))


@router.get("/servers/detail", openapi_extra=policies(P % "detail", P % "detail:get_all_tenants"))
def list_servers_detail(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    ctx.can(P % "detail", {"project_id": ctx.project_id})
    return json_response(list_view(request, ctx, deps, version, detail=True))


def render_one(
    request: Request, ctx: RequestContext, deps: Deps, version: Version, inst: Any
) -> Response:
    opts = servers_view.view_options(ctx, deps, version, [inst], with_groups=True)
    return json_response({"server": servers_view.show(request, inst, opts)})


@router.get("/servers/{server_id}", openapi_extra=policies(P % "show"))
def show_server(
    request: Request, server_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    inst = servers.get_authorized(deps, ctx, server_id, P % "show")
    inst = servers.with_fresh_addresses(deps, inst)
    return render_one(request, ctx, deps, version, inst)


@router.put(
    "/servers/{server_id}",
    openapi_extra=policies(P % "update") | request_model(ServerUpdateRequest),
)
def update_server(
    request: Request,
    server_id: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: dict[str, Any] = Body(...),
) -> Response:
    call = CallContext.from_request(ctx)
    inst = servers.get_authorized(deps, ctx, server_id, P % "update")
    extra = sorted(set(body) - {"server"})
    if extra:
        raise unexpected(extra)
    data = body_part(body, "server")
    gate(data, version, UPDATE_GATES)
    model = ServerUpdate.model_validate(data)
    hostname: str | servers.Keep = servers.KEEP
    if model.hostname is not None:
        try:
            hostname = parse_hostname(model.hostname, fqdn=version >= (2, 94))
        except ValueError as exc:
            raise BadRequest(f"Invalid input for field/attribute hostname. {exc}") from None
    changes = servers.ServerChanges(
        display_name=servers.KEEP if model.name is None else model.name,
        display_description=model.description if "description" in data else servers.KEEP,
        access_ip_v4=servers.KEEP if model.accessIPv4 is None else model.accessIPv4,
        access_ip_v6=servers.KEEP if model.accessIPv6 is None else model.accessIPv6,
        auto_disk_config=(
            servers.KEEP if model.disk_config is None else model.disk_config == "AUTO"
        ),
        hostname=hostname,
    )
    inst = servers.update(deps, call, server_id, changes)
    opts = servers_view.view_options(ctx, deps, version, [inst], with_groups=True)
    opts.restrict()
    return json_response({"server": servers_view.show(request, inst, opts)})


@router.delete("/servers/{server_id}", status_code=204, openapi_extra=policies(P % "delete"))
def delete_server(server_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    call = CallContext.from_request(ctx)
    inst = servers.get_authorized(deps, ctx, server_id, P % "delete")
    servers.delete(deps, call, server_id)
    servers.settle(deps, inst.uuid, deleted=True)
    return Response(status_code=204)
