"""``/os-services``: list, enable/disable (with reason), force down, delete."""

from __future__ import annotations

import logging
import uuid as uuidlib
from typing import Any

from fastapi import APIRouter, Body
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.exceptions import BadRequest
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.microversion import Version
from tinystack.compute.api.query import reject_unknown
from tinystack.compute.api.rendering import isotime, json_response
from tinystack.compute.api.schemas import LegacyUpdate, ServiceUpdate, ServiceUpdateRequest
from tinystack.compute.services import os_services
from tinystack.compute.services.deps import Deps
from tinystack.compute.services.os_services import ServiceRecord

LOG = logging.getLogger(__name__)
router = APIRouter(tags=["services"])
P = "os_compute_api:os-services:%s"


def _view(svc: ServiceRecord, version: Version) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": svc.uuid if version >= (2, 53) else svc.id,
        "binary": svc.binary,
        "host": svc.host,
        "zone": svc.zone,
        "status": "disabled" if svc.disabled else "enabled",
        "state": "up" if svc.up else "down",
        "updated_at": isotime(svc.updated_at),
        "disabled_reason": svc.disabled_reason,
    }
    if version >= (2, 11):
        view["forced_down"] = svc.forced_down
    return view


@router.get("/os-services", openapi_extra=policies(P % "list"))
def list_services(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    ctx.can(P % "list", {})
    reject_unknown(request, {"host", "binary"}, version)
    rows = os_services.list_services(
        deps, host=request.query_params.get("host"), binary=request.query_params.get("binary")
    )
    return json_response({"services": [_view(s, version) for s in rows]})


def _update_by_id(
    deps: Deps, service_id: str, body: dict[str, Any], version: Version
) -> dict[str, Any]:
    model = ServiceUpdate.model_validate(body)
    if not body:
        raise BadRequest(
            "No updates were requested. Fields 'status' or 'forced_down' should be specified."
        )
    if model.status is None and model.forced_down is None:
        raise BadRequest(
            "No updates were requested. Fields 'status' or 'forced_down' should be specified."
        )
    if model.disabled_reason is not None and model.status != "disabled":
        raise BadRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.")
    svc = os_services.update(
        deps,
        service_id,
        disabled=None if model.status is None else model.status == "disabled",
        disabled_reason=model.disabled_reason,
        forced_down=model.forced_down,
    )
    return {"service": _view(svc, version)}


def _legacy(deps: Deps, action: str, body: dict[str, Any], version: Version) -> dict[str, Any]:
    model = LegacyUpdate.model_validate(body)
    if model.forced_down is not None and action != "force-down":
        raise BadRequest("Additional properties are not allowed ('forced_down' was unexpected)")
    reason = model.disabled_reason if action == "disable-log-reason" else None
    os_services.legacy_update(
        deps,
        model.host,
        model.binary,
        action,
        reason=reason,
        forced_down=model.forced_down,
        allow_force_down=version >= (2, 11),
    )
    result: dict[str, Any] = {"host": model.host, "binary": model.binary}
    if action == "enable":
        result["status"] = "enabled"
    elif action in ("disable", "disable-log-reason"):
        result["status"] = "disabled"
        if reason:
            result["disabled_reason"] = reason
    else:
        result["forced_down"] = model.forced_down
    return {"service": result}


@router.put(
    "/os-services/{service_id}",
    openapi_extra=policies(P % "update") | request_model(ServiceUpdateRequest),
)
def update_service(
    service_id: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: dict[str, Any] = Body(...),
) -> Response:
    ctx.can(P % "update", {})
    if version >= (2, 53):
        return json_response(_update_by_id(deps, service_id, body, version))
    return json_response(_legacy(deps, service_id, body, version))


@router.delete("/os-services/{service_id}", status_code=204, openapi_extra=policies(P % "delete"))
def delete_service(
    service_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    ctx.can(P % "delete", {})
    if version >= (2, 53):
        try:
            uuidlib.UUID(service_id)
        except ValueError:
            raise BadRequest(f"Invalid uuid {service_id}") from None
    elif not service_id.isdigit():
        raise BadRequest(f"Invalid service id {service_id}")
    os_services.delete(deps, service_id)
    return Response(status_code=204)
