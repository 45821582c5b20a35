"""``/os-availability-zone``: the zones of the volume services and whether they work."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from tinystack.common.api.openapi import policies
from tinystack.volume.api.deps import ContextDep, DepsDep
from tinystack.volume.api.rendering import json_response
from tinystack.volume.services import os_services

router = APIRouter(tags=["availability zones"])


# Cinder authorizes no rule here: any valid token may read the zones.
@router.get("/os-availability-zone", openapi_extra=policies())
def list_zones(ctx: ContextDep, deps: DepsDep) -> Response:
    del ctx
    zones = os_services.zones(deps.db, int(deps.opts.service_down_time))
    return json_response(
        {
            "availabilityZoneInfo": [
                {"zoneName": name, "zoneState": {"available": available}}
                for name, available in sorted(zones.items())
            ]
        }
    )
