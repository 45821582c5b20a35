"""``GET /limits``: the caller's (or, for admins, a project's) absolute limits and usage."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.query import reject_unknown
from tinystack.compute.api.rendering import json_response
from tinystack.compute.services import quotas

router = APIRouter(tags=["limits"])
LIMIT_NAMES = {
    "ram": ["maxTotalRAMSize"],
    "instances": ["maxTotalInstances"],
    "cores": ["maxTotalCores"],
    "key_pairs": ["maxTotalKeypairs"],
    "floating_ips": ["maxTotalFloatingIps"],
    "metadata_items": ["maxServerMeta", "maxImageMeta"],
    "injected_files": ["maxPersonality"],
    "injected_file_content_bytes": ["maxPersonalitySize"],
    "security_groups": ["maxSecurityGroups"],
    "security_group_rules": ["maxSecurityGroupRules"],
    "server_groups": ["maxServerGroups"],
    "server_group_members": ["maxServerGroupMembers"],
}
USED_NAMES = {
    "totalRAMUsed": "ram",
    "totalCoresUsed": "cores",
    "totalInstancesUsed": "instances",
    "totalFloatingIpsUsed": "floating_ips",
    "totalSecurityGroupsUsed": "security_groups",
    "totalServerGroupsUsed": "server_groups",
}


@router.get(
    "/limits",
    openapi_extra=policies("os_compute_api:limits", "os_compute_api:limits:other_project"),
)
def show_limits(request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    reject_unknown(request, {"tenant_id", "reserved"}, version)
    ctx.can("os_compute_api:limits", {"project_id": ctx.project_id})
    project_id = ctx.project_id or ""
    wanted = request.query_params.get("tenant_id")
    if wanted and wanted != project_id:
        if ctx.allowed("os_compute_api:limits:other_project", {"project_id": wanted}):
            project_id = wanted
    values = quotas.show_usage(deps.db, deps.opts, project_id)
    filtered: set[str] = set()
    if version >= (2, 36):
        filtered |= {"floating_ips", "security_groups", "security_group_rules"}
    if version >= (2, 57):
        filtered |= {"injected_files", "injected_file_content_bytes"}
    absolute: dict[str, Any] = {}
    for resource, names in LIMIT_NAMES.items():
        if resource in filtered or resource not in values:
            continue
        for name in names:
            if name == "maxImageMeta" and version >= (2, 39):
                continue
            absolute[name] = values[resource].limit
    for name, resource in USED_NAMES.items():
        if resource in values and resource not in filtered:
            absolute[name] = values[resource].in_use
    return json_response({"limits": {"rate": [], "absolute": absolute}})
