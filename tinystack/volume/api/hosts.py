"""``/os-hosts``: the volume hosts (admins)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from tinystack.common.api.openapi import policies
from tinystack.volume.api.deps import ContextDep, DepsDep
from tinystack.volume.api.rendering import cinder_time, json_response
from tinystack.volume.services import hosts, os_services

router = APIRouter(tags=["hosts"])
RULE = "volume_extension:hosts"


@router.get("/os-hosts", openapi_extra=policies(RULE))
def list_hosts(ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(RULE, {"project_id": ctx.project_id})
    found = os_services.list_services(
        deps.db, int(deps.opts.service_down_time), os_services.ServiceFilter()
    )
    return json_response(
        {
            "hosts": [
                {
                    "service-status": "available" if s.up else "unavailable",
                    "service": s.binary,
                    "zone": s.availability_zone,
                    "service-state": "disabled" if s.disabled else "enabled",
                    "host_name": s.host,
                    "last-update": cinder_time(s.heartbeat_at),
                }
                for s in found
            ]
        }
    )


@router.get("/os-hosts/{host_name}", openapi_extra=policies(RULE))
def show_host(host_name: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(RULE, {"project_id": ctx.project_id})
    return json_response(
        {
            "host": [
                {
                    "resource": {
                        "host": host_name,
                        "project": u.project,
                        "volume_count": str(u.volume_count),
                        "total_volume_gb": str(u.total_volume_gb),
                        "snapshot_count": str(u.snapshot_count),
                        "total_snapshot_gb": str(u.total_snapshot_gb),
                    }
                }
                for u in hosts.usage(deps.db, host_name)
            ]
        }
    )
