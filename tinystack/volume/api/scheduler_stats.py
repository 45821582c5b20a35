"""``/scheduler-stats/get_pools`` and ``/capabilities/{host}``: what the backends report."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies
from tinystack.volume import exception
from tinystack.volume.api import query
from tinystack.volume.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.volume.api.rendering import json_response
from tinystack.volume.scheduler import filters
from tinystack.volume.services import os_services, scheduling, volume_types

router = APIRouter(tags=["scheduler stats"])
POOLS = "scheduler_extension:scheduler_stats:get_pools"
CAPABILITIES = "volume_extension:capabilities"


@router.get("/scheduler-stats/get_pools", openapi_extra=policies(POOLS))
def get_pools(request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    ctx.can(POOLS, {"project_id": ctx.project_id})
    params = dict(request.query_params)
    detail = query.flag(params.pop("detail", None), "detail")
    pools = scheduling.all_pools(deps.db)
    wanted_type = params.pop("volume_type", None) if version >= (3, 35) else None
    if wanted_type:
        viewer = volume_types.Viewer(ctx.project_id, ctx.is_admin)
        specs = volume_types.get(deps.db, wanted_type, viewer).extra_specs
        request_ = filters.Request(0, None, dict(specs))
        pools = [p for p in pools if filters.capabilities_filter(p, request_)]
    if version >= (3, 28):
        for key, value in params.items():
            if key == "name":
                pools = [p for p in pools if p.name == value]
            elif key == "backend_name":
                pools = [p for p in pools if p.capabilities.get("volume_backend_name") == value]
            else:
                pools = [p for p in pools if str(p.capabilities.get(key)) == value]
    items: list[dict[str, Any]] = []
    for pool in pools:
        item: dict[str, Any] = {"name": pool.name}
        if detail:
            caps = dict(pool.capabilities)
            caps["allocated_capacity_gb"] = pool.provisioned_gb
            caps["provisioned_capacity_gb"] = pool.provisioned_gb
            caps.setdefault("timestamp", None)
            item["capabilities"] = caps
        items.append(item)
    return json_response({"pools": items})


@router.get("/capabilities/{host_name}", openapi_extra=policies(CAPABILITIES))
def show_capabilities(host_name: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(CAPABILITIES, {"project_id": ctx.project_id})
    found = os_services.list_services(
        deps.db,
        int(deps.opts.service_down_time),
        os_services.ServiceFilter(host=host_name, binary=os_services.VOLUME_BINARY),
    )
    service = next((s for s in found if s.up and s.capabilities), None)
    if service is None or service.capabilities is None:
        raise exception.NotFound(f"Capabilities of host {host_name} could not be found.")
    caps = service.capabilities
    pools = caps.get("pools")
    first: dict[str, Any] = (
        pools[0] if isinstance(pools, list) and pools and isinstance(pools[0], dict) else {}
    )
    properties = {
        key: {"title": key, "description": key, "type": type(value).__name__}
        for key, value in first.items()
        if isinstance(value, bool)
    }
    return json_response(
        {
            "namespace": f"OS::Storage::Capabilities::{service.host}",
            "vendor_name": caps.get("vendor_name"),
            "volume_backend_name": caps.get("volume_backend_name"),
            "pool_name": None,
            "driver_version": caps.get("driver_version"),
            "storage_protocol": caps.get("storage_protocol"),
            "display_name": None,
            "description": None,
            "visibility": None,
            "replication_targets": [],
            "properties": properties,
        }
    )
