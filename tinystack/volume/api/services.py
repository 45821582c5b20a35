"""``/os-services``: the scheduler and volume services; enable, disable, freeze, thaw,
and (3.32) set-log / get-log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.volume.api import schemas
from tinystack.volume.api.deps import ContextDep, DepsDep, Version, VersionDep
from tinystack.volume.api.rendering import cinder_time, json_response
from tinystack.volume.services import log_levels, os_services
from tinystack.volume.services.records import ServiceRecord

router = APIRouter(tags=["services"])
INDEX = "volume_extension:services:index"
UPDATE = "volume_extension:services:update"
FREEZE = "volume:freeze_host"
THAW = "volume:thaw_host"
FAILOVER = "volume:failover_host"


def _view(svc: ServiceRecord, version: Version) -> dict[str, Any]:
    view: dict[str, Any] = {
        "binary": svc.binary,
        "host": svc.host,
        "zone": svc.availability_zone,
        "status": "disabled" if svc.disabled else "enabled",
        "state": "up" if svc.up else "down",
        "updated_at": cinder_time(svc.heartbeat_at or svc.updated_at),
        "disabled_reason": svc.disabled_reason,
    }
    if svc.binary == os_services.VOLUME_BINARY:
        view["replication_status"] = svc.replication_status
        view["active_backend_id"] = svc.active_backend_id
        view["frozen"] = svc.frozen
        if version >= (3, 49):
            view["backend_state"] = "up" if svc.up and svc.capabilities else "down"
    if version >= (3, 7):
        view["cluster"] = svc.cluster_name
    return view


@router.get("/os-services", openapi_extra=policies(INDEX))
def list_services(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    ctx.can(INDEX, {"project_id": ctx.project_id})
    params = request.query_params
    filters = os_services.ServiceFilter(host=params.get("host"), binary=params.get("binary"))
    found = os_services.list_services(deps.db, int(deps.opts.service_down_time), filters)
    return json_response({"services": [_view(s, version) for s in found]})


def _log_filter(body: dict[str, Any]) -> log_levels.LogFilter:
    return log_levels.LogFilter(
        binary=schemas.text(body.get("binary"), "binary"),
        server=schemas.text(body.get("server"), "server"),
        prefix=schemas.text(body.get("prefix"), "prefix"),
    )


def _log_action(action: str, deps: Any, body: dict[str, Any]) -> Response:
    """3.32: set or read the log levels of the service binaries of this process."""
    filters = _log_filter(body)
    if action == "set-log":
        log_levels.set_levels(deps, filters, body.get("level"))
        return Response(status_code=202)
    found = log_levels.get_levels(deps, filters)
    return json_response(
        {"log_levels": [{"binary": s.binary, "host": s.host, "levels": s.levels} for s in found]}
    )


@router.put(
    "/os-services/{action}",
    openapi_extra=policies(UPDATE, FREEZE, THAW, FAILOVER) | request_model(schemas.ServiceUpdate),
)
def update_service(
    action: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: dict[str, Any] = Body(...),
) -> Response:
    ctx.can(UPDATE, {"project_id": ctx.project_id})
    if not isinstance(body, dict):
        raise BadRequest("Malformed request body")
    if action in ("set-log", "get-log"):
        if version < (3, 32):
            raise NotFound("Unknown action")
        return _log_action(action, deps, body)
    host = body.get("host")
    if not isinstance(host, str) or not host:
        raise BadRequest("Missing required element 'host' in request body.")
    if action in ("freeze", "thaw"):
        ctx.can(FREEZE if action == "freeze" else THAW, {"project_id": ctx.project_id})
        os_services.set_frozen(deps.db, host, action == "freeze")
        return Response(status_code=200)
    if action == "failover_host" or action == "failover":
        ctx.can(FAILOVER, {"project_id": ctx.project_id})
        raise BadRequest("Host does not support replication failover.")
    if action not in ("enable", "disable", "disable-log-reason"):
        raise NotFound("Unknown action")
    binary = body.get("binary") or body.get("service")
    if not isinstance(binary, str) or not binary:
        raise BadRequest("Missing required element 'binary' in request body.")
    reason = None
    if action == "disable-log-reason":
        reason = schemas.text(body.get("disabled_reason"), "disabled_reason")
        if not reason or not reason.strip():
            raise BadRequest("Disabled reason contains invalid characters or is too long")
    disabled = action != "enable"
    svc = os_services.set_disabled(
        deps.db, host, binary, disabled, reason, int(deps.opts.service_down_time)
    )
    return json_response(
        {
            "host": svc.host,
            "service": svc.binary,
            "disabled": svc.disabled,
            "binary": svc.binary,
            "status": "disabled" if svc.disabled else "enabled",
            "disabled_reason": svc.disabled_reason,
        }
    )
