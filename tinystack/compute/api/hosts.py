"""``/os-hosts`` (2.1–2.42): hosts and their services, usage, enable/disable, power."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from sqlalchemy import select
from starlette.responses import Response

from tinystack.common.exceptions import BadRequest, NotFound, NotImplementedYet
from tinystack.compute import models
from tinystack.compute.api.deps import ContextDep, DepsDep
from tinystack.compute.api.microversion import Version, VersionDep
from tinystack.compute.api.openapi import policies
from tinystack.compute.api.rendering import json_response
from tinystack.compute.services import availability_zones, hosts
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
    zones = availability_zones.host_zones(deps.db, deps.opts.default_availability_zone)
    wanted = request.query_params.get("zone")
    found = []
    for svc in hosts.list_services(deps.db):
        if svc.disabled:
            continue
        if svc.binary == hosts.COMPUTE_BINARY:
            zone = zones.get(svc.host, deps.opts.default_availability_zone)
        else:
            zone = deps.opts.internal_service_availability_zone
        if wanted and zone != wanted:
            continue
        found.append({"host_name": svc.host, "service": svc.topic, "zone": zone})
    return json_response({"hosts": found})


def _compute(deps: Deps, host: str) -> models.Service:
    try:
        return hosts.find_service(deps.db, host, hosts.COMPUTE_BINARY)
    except NotFound:
        raise NotFound(f"Host '{host}' is not mapped to any cell") from None


@router.get("/os-hosts/{host_name}", openapi_extra=policies(P % "show"))
def show_host(host_name: str, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    _gate(version)
    ctx.can(P % "show", {})
    _compute(deps, host_name)
    with deps.db.reader() as session:
        node = session.scalars(
            select(models.ComputeNode)
            .where(models.ComputeNode.host == host_name)
            .order_by(models.ComputeNode.id)
        ).first()
        if node is None:
            raise NotFound(f"Compute host {host_name} could not be found.")
        rows = session.execute(
            select(
                models.Instance.project_id,
                models.Instance.vcpus,
                models.Instance.memory_mb,
                models.Instance.flavor,
            ).where(models.Instance.host == host_name, models.Instance.deleted.is_(False))
        ).all()

    def resource(project: str, cpu: int, memory: int, disk: int) -> dict[str, Any]:
        return {
            "resource": {
                "host": host_name,
                "project": project,
                "cpu": cpu,
                "memory_mb": memory,
                "disk_gb": disk,
            }
        }

    per_project: dict[str, list[int]] = {}
    total = [0, 0, 0]
    for project, vcpus, memory, flavor in rows:
        disk = int((flavor or {}).get("root_gb") or 0) + int(
            (flavor or {}).get("ephemeral_gb") or 0
        )
        for sums in (total, per_project.setdefault(project, [0, 0, 0])):
            sums[0] += int(vcpus or 0)
            sums[1] += int(memory or 0)
            sums[2] += disk
    found = [
        resource("(total)", node.vcpus, node.memory_mb, node.local_gb),
        resource("(used_now)", node.vcpus_used, node.memory_mb_used, node.local_gb_used),
        resource("(used_max)", *total),
    ]
    found.extend(resource(project, *sums) for project, sums in per_project.items())
    return json_response({"host": found})


def _switch(body: dict[str, Any], key: str) -> bool | None:
    raw = body.get(key)
    if raw is None:
        return None
    if not isinstance(raw, str) or raw.lower() not in SWITCH:
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: {raw}.")
    return raw.lower() == "enable"


@router.put("/os-hosts/{host_name}", openapi_extra=policies(P % "update"))
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
    svc = _compute(deps, host_name)
    result: dict[str, Any] = {"host": host_name}
    if status is not None:
        hosts.set_status(deps.db, str(svc.id), disabled=not status)
        result["status"] = "enabled" if status else "disabled"
    if maintenance is not None:
        # a maintenance window would evacuate the host: only the fake driver plays along
        _fake_only(deps)
        result["maintenance_mode"] = "on_maintenance" if maintenance else "off_maintenance"
    return json_response(result)


def _fake_only(deps: Deps) -> None:
    if deps.opts.compute_driver != "fake":
        raise NotImplementedYet("Action is not supported by this cloud's compute driver.")


def _power(deps: Deps, host_name: str, action: str) -> dict[str, Any]:
    svc = _compute(deps, host_name)
    _fake_only(deps)
    if not hosts.service_up_checker(deps.opts)(svc):
        raise BadRequest(f"Compute service of {host_name} is unavailable at this time.")
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
