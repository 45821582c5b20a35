"""``/os-hosts`` (2.1–2.42): hosts and their services, usage, enable/disable, power."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.compute.api.deps import ContextDep, DepsDep
from tinystack.compute.api.microversion import Version, VersionDep
from tinystack.compute.api.rendering import json_response
from tinystack.compute.api.schemas import HostUpdateRequest
from tinystack.compute.services import os_hosts
from tinystack.compute.services.deps import Deps

router = APIRouter(tags=["hosts"])
P = "os_compute_api:os-hosts:%s"
MAX = Version(2, 42)
SWITCH = ("enable", "disable")


def _gate(version: Version) -> None:
    if version > MAX:
        raise NotFound("The resource could not be found.")


@router.get("/os-hosts", openapi_extra=policies(P % "list"))
def list_hosts(request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    _gate(version)
    ctx.can(P % "list", {})
    found = os_hosts.list_hosts(deps, request.query_params.get("zone"))
    return json_response(
        {"hosts": [{"host_name": h.host_name, "service": h.service, "zone": h.zone} for h in found]}
    )


def _resource_view(row: os_hosts.HostResource) -> dict[str, Any]:
    return {
        "resource": {
            "host": row.host,
            "project": row.project,
            "cpu": row.cpu,
            "memory_mb": row.memory_mb,
            "disk_gb": row.disk_gb,
        }
    }


@router.get("/os-hosts/{host_name}", openapi_extra=policies(P % "show"))
def show_host(host_name: str, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    _gate(version)
    ctx.can(P % "show", {})
    found = os_hosts.resources(deps, host_name)
    return json_response({"host": [_resource_view(row) for row in found]})


def _switch(body: dict[str, Any], key: str) -> bool | None:
    raw = body.get(key)
    if raw is None:
        return None
    if not isinstance(raw, str) or raw.lower() not in SWITCH:
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: {raw}.")
    return raw.lower() == "enable"


@router.put(
    "/os-hosts/{host_name}", openapi_extra=policies(P % "update") | request_model(HostUpdateRequest)
)
def update_host(
    host_name: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: Any = Body(None),
) -> Response:
    _gate(version)
    ctx.can(P % "update", {})
    if not isinstance(body, dict):
        raise BadRequest("The request body is invalid.")
    extra = sorted(set(body) - {"status", "maintenance_mode"})
    if extra:
        raise BadRequest(f"Additional properties are not allowed ({extra[0]!r} was unexpected)")
    status = _switch(body, "status")
    maintenance = _switch(body, "maintenance_mode")
    if status is None and maintenance is None:
        raise BadRequest("'status' or 'maintenance_mode' is a required property")
    os_hosts.update(deps, host_name, enable=status, maintenance=maintenance)
    result: dict[str, Any] = {"host": host_name}
    if status is not None:
        result["status"] = "enabled" if status else "disabled"
    if maintenance is not None:
        result["maintenance_mode"] = "on_maintenance" if maintenance else "off_maintenance"
    return json_response(result)


def _power(deps: Deps, host_name: str, action: str) -> dict[str, Any]:
    os_hosts.power(deps, host_name)
    return {"host": host_name, "power_action": action}


@router.get("/os-hosts/{host_name}/reboot", openapi_extra=policies(P % "reboot"))
def reboot_host(host_name: str, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    _gate(version)
    ctx.can(P % "reboot", {})
    return json_response(_power(deps, host_name, "reboot"))


@router.get("/os-hosts/{host_name}/shutdown", openapi_extra=policies(P % "shutdown"))
def shutdown_host(host_name: str, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    _gate(version)
    ctx.can(P % "shutdown", {})
    return json_response(_power(deps, host_name, "shutdown"))


@router.get("/os-hosts/{host_name}/startup", openapi_extra=policies(P % "start"))
def startup_host(host_name: str, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    _gate(version)
    ctx.can(P % "start", {})
    return json_response(_power(deps, host_name, "startup"))
