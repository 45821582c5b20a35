"""Remote consoles (``/servers/{id}/remote-consoles``, 2.6+) and console auth tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from tinystack.common.api.microversion import since
from tinystack.common.api.openapi import policies, request_model
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.common.rpc.context import CallContext
from tinystack.compute import exception
from tinystack.compute.api.bodies import body_part
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.rendering import json_response
from tinystack.compute.api.schemas import RemoteConsoleRequest
from tinystack.compute.services import consoles, servers

router = APIRouter(tags=["consoles"])
REMOTE = "os_compute_api:os-remote-consoles"
TOKENS = "os_compute_api:os-console-auth-tokens"
PROTOCOLS = {
    "vnc": ("novnc", "xvpvnc"),
    "spice": ("spice-html5",),
    "serial": ("serial",),
    "rdp": ("rdp-html5",),
    "mks": ("webmks",),
}


@router.post(
    "/servers/{server_id}/remote-consoles",
    openapi_extra=since("2.6") | policies(REMOTE) | request_model(RemoteConsoleRequest),
)
def create_console(
    server_id: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: dict[str, Any] = Body(...),
) -> Response:
    if version < (2, 6):
        raise NotFound("The resource could not be found.")
    call = CallContext.from_request(ctx)
    inst = servers.get_authorized(deps, ctx, server_id, REMOTE)
    data = body_part(body, "remote_console")
    protocol, kind = data.get("protocol"), data.get("type")
    allowed = dict(PROTOCOLS)
    if version < (2, 8):
        allowed.pop("mks")
    if set(data) - {"protocol", "type"} or protocol not in allowed:
        raise BadRequest(f"Invalid input for field/attribute protocol. Value: {protocol}.")
    if kind not in [t for types in allowed.values() for t in types]:
        raise BadRequest(f"Invalid input for field/attribute type. Value: {kind}.")
    if kind not in allowed[str(protocol)]:
        raise BadRequest(f"Unsupported console type {kind} for protocol {protocol}.")
    if protocol == "rdp":
        raise BadRequest("Unavailable console type rdp-html5.")
    if protocol not in ("vnc", "serial"):
        raise exception.ConsoleTypeUnavailable(str(kind))
    url = consoles.console_url(deps, call, inst.uuid, str(kind))
    return json_response({"remote_console": {"protocol": protocol, "type": kind, "url": url}})


@router.get("/os-console-auth-tokens/{console_token}", openapi_extra=policies(TOKENS))
def show_token(console_token: str, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    ctx.can(TOKENS, {})
    row = consoles.console_token(deps, console_token)
    if version < (2, 31) and row.console_type != "rdp-html5":
        raise BadRequest(f"The type of the console token is not supported: {row.console_type}")
    return json_response(
        {
            "console": {
                "instance_uuid": row.instance_uuid,
                "host": row.host,
                "port": row.port,
                "internal_access_path": row.internal_access_path,
            }
        }
    )
