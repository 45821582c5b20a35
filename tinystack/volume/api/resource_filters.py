"""``/resource_filters`` (3.33): the filters each resource's list accepts from users.

The volume filters are the ones ``api/volumes.py`` honours; the others are upstream's
defaults (``etc/cinder/resource_filters.json``) for the lists this cloud serves.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.microversion import since
from tinystack.common.api.openapi import policies
from tinystack.volume.api import volumes
from tinystack.volume.api.deps import ContextDep
from tinystack.volume.api.rendering import json_response

router = APIRouter(tags=["resource filters"])

FILTERS: dict[str, list[str]] = {
    "volume": sorted(volumes.USER_FILTERS - {"glance_metadata", "volume_type"}) + ["volume_type"],
    "backup": ["name", "status", "volume_id"],
    "snapshot": ["name", "status", "volume_id", "metadata", "availability_zone"],
    "group": [],
    "group_snapshot": ["status", "group_id"],
    "attachment": ["volume_id", "status", "instance_id", "attach_status"],
    "message": ["resource_uuid", "resource_type", "event_id", "request_id", "message_level"],
    "pool": ["name", "volume_type"],
    "volume_type": [],
}


@router.get("/resource_filters", openapi_extra=since("3.33") | policies())
def list_resource_filters(request: Request, ctx: ContextDep) -> Response:
    del ctx  # any authenticated caller (upstream checks no rule)
    wanted = request.query_params.get("resource")
    found = [
        {"resource": name, "filters": filters}
        for name, filters in FILTERS.items()
        if wanted is None or name == wanted
    ]
    return json_response({"resource_filters": found})
