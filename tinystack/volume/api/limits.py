"""``/limits``: the project's absolute limits and what it uses of them."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies
from tinystack.volume.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.volume.api.rendering import json_response
from tinystack.volume.services import quotas

router = APIRouter(tags=["limits"])
USED = "limits_extension:used_limits"
#: resource -> (limit name, used name)
NAMES = {
    "volumes": ("maxTotalVolumes", "totalVolumesUsed"),
    "gigabytes": ("maxTotalVolumeGigabytes", "totalGigabytesUsed"),
    "snapshots": ("maxTotalSnapshots", "totalSnapshotsUsed"),
    "backups": ("maxTotalBackups", "totalBackupsUsed"),
    "backup_gigabytes": ("maxTotalBackupGigabytes", "totalBackupGigabytesUsed"),
}


@router.get("/limits", openapi_extra=policies(USED))
def show_limits(request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    project = ctx.project_id or ""
    asked = request.query_params.get("project_id")
    if asked and ctx.is_admin and version >= (3, 39):
        project = asked
    found = quotas.show(deps.db, deps.opts, project)
    absolute: dict[str, int] = {}
    show_used = ctx.allowed(USED, {"project_id": project})
    for resource, (limit_name, used_name) in NAMES.items():
        item = found.get(resource)
        if item is None:
            continue
        absolute[limit_name] = item.limit
        if show_used:
            absolute[used_name] = item.in_use
    return json_response({"limits": {"rate": [], "absolute": absolute}})
