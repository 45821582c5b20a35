"""``/os-availability-zone`` and its admin ``detail``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from tinystack.common.api.openapi import policies
from tinystack.compute.api.deps import ContextDep, DepsDep
from tinystack.compute.api.rendering import json_response
from tinystack.compute.services import availability_zones

router = APIRouter(tags=["availability zones"])
P = "os_compute_api:os-availability-zone:%s"


@router.get("/os-availability-zone", openapi_extra=policies(P % "list"))
def list_zones(ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(P % "list", {"project_id": ctx.project_id})
    available, unavailable = availability_zones.zones(deps)
    internal = deps.opts.internal_service_availability_zone
    info: list[dict[str, Any]] = [
        {"zoneName": name, "zoneState": {"available": True}, "hosts": None}
        for name in sorted(available)
        if name != internal
    ]
    info += [
        {"zoneName": name, "zoneState": {"available": False}, "hosts": None} for name in unavailable
    ]
    return json_response({"availabilityZoneInfo": info})


@router.get("/os-availability-zone/detail", openapi_extra=policies(P % "detail"))
def list_zones_detail(ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(P % "detail", {"project_id": ctx.project_id})
    available, unavailable = availability_zones.zones(deps)
    info: list[dict[str, Any]] = []
    for name in sorted(available):
        hosts: dict[str, dict[str, Any]] = {}
        for entry in available[name]:
            hosts.setdefault(entry.host, {})[entry.binary] = {
                "available": entry.available,
                "active": entry.active,
                "updated_at": entry.updated_at,
            }
        info.append({"zoneName": name, "zoneState": {"available": True}, "hosts": hosts})
    for name in unavailable:
        info.append({"zoneName": name, "zoneState": {"available": False}, "hosts": None})
    return json_response({"availabilityZoneInfo": info})
