"""``/os-services``: list, enable/disable (with reason), force down, delete."""

from __future__ import annotations

import logging
import uuid as uuidlib
from typing import Any, Literal

from fastapi import APIRouter, Body
from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.clients.session import ClientError
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.compute import models
from tinystack.compute.agent import resource_tracker
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.microversion import Version
from tinystack.compute.api.openapi import policies
from tinystack.compute.api.query import reject_unknown
from tinystack.compute.api.rendering import isotime, json_response
from tinystack.compute.api.schemas import BoolLike, Strict
from tinystack.compute.services import availability_zones, hosts
from tinystack.compute.services.deps import Deps

LOG = logging.getLogger(__name__)
router = APIRouter(tags=["services"])
P = "os_compute_api:os-services:%s"


def _view(
    deps: Deps, svc: models.Service, version: Version, zones: dict[str, str]
) -> dict[str, Any]:
    opts = deps.opts
    if svc.binary == hosts.COMPUTE_BINARY:
        zone = zones.get(svc.host, opts.default_availability_zone)
    else:
        zone = opts.internal_service_availability_zone
    view: dict[str, Any] = {
        "id": svc.uuid if version >= (2, 53) else svc.id,
        "binary": svc.binary,
        "host": svc.host,
        "zone": zone,
        "status": "disabled" if svc.disabled else "enabled",
        "state": "up" if hosts.service_up_checker(opts)(svc) else "down",
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
    rows = hosts.list_services(
        deps.db,
        host=request.query_params.get("host"),
        binary=request.query_params.get("binary"),
    )
    zones = availability_zones.host_zones(deps.db, deps.opts.default_availability_zone)
    return json_response({"services": [_view(deps, s, version, zones) for s in rows]})


def _sync_trait(deps: Deps, svc: models.Service) -> None:
    if svc.binary != hosts.COMPUTE_BINARY:
        return
    node_uuid = hosts.node_uuids(deps.db, [svc.host]).get(svc.host)
    if node_uuid is None:
        return
    try:
        resource_tracker.set_disabled(deps.placement, node_uuid, svc.disabled)
    except ClientError as exc:
        LOG.warning("cannot update the disabled trait of %s: %s", svc.host, exc)


class ServiceUpdate(Strict):
    status: Literal["enabled", "disabled"] | None = None
    disabled_reason: str | None = Field(None, min_length=1, max_length=255)
    forced_down: BoolLike | None = None


class LegacyUpdate(Strict):
    host: str = Field(min_length=1, max_length=255)
    binary: str = Field(min_length=1, max_length=255)
    disabled_reason: str | None = Field(None, min_length=1, max_length=255)
    forced_down: BoolLike | None = None


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
    try:
        svc = hosts.get_service(deps.db, service_id)
    except NotFound:
        raise NotFound(f"Service {service_id} not found.") from None
    if svc.binary != hosts.COMPUTE_BINARY:
        raise BadRequest(
            f"Updating a {svc.binary} service is not supported. Only nova-compute services "
            f"can be updated."
        )
    disabled = None if model.status is None else model.status == "disabled"
    svc = hosts.set_status(
        deps.db,
        str(svc.id),
        disabled=disabled,
        disabled_reason=model.disabled_reason,
        forced_down=model.forced_down,
    )
    _sync_trait(deps, svc)
    zones = availability_zones.host_zones(deps.db, deps.opts.default_availability_zone)
    return {"service": _view(deps, svc, version, zones)}


def _legacy(deps: Deps, action: str, body: dict[str, Any], version: Version) -> dict[str, Any]:
    model = LegacyUpdate.model_validate(body)
    if model.forced_down is not None and action != "force-down":
        raise BadRequest("Additional properties are not allowed ('forced_down' was unexpected)")
    try:
        svc = hosts.find_service(deps.db, model.host, model.binary)
    except NotFound:
        raise NotFound("Unknown service") from None
    result: dict[str, Any] = {"host": svc.host, "binary": svc.binary}
    if action == "enable":
        svc = hosts.set_status(deps.db, str(svc.id), disabled=False)
        result["status"] = "enabled"
    elif action in ("disable", "disable-log-reason"):
        reason = model.disabled_reason if action == "disable-log-reason" else None
        if action == "disable-log-reason" and not reason:
            raise BadRequest("Missing disabled reason field")
        svc = hosts.set_status(deps.db, str(svc.id), disabled=True, disabled_reason=reason)
        result["status"] = "disabled"
        if reason:
            result["disabled_reason"] = reason
    elif action == "force-down" and version >= (2, 11):
        if model.forced_down is None:
            raise BadRequest("Missing forced_down field")
        svc = hosts.set_status(deps.db, str(svc.id), forced_down=model.forced_down)
        result["forced_down"] = model.forced_down
    else:
        raise NotFound(f"Unknown action {action}")
    _sync_trait(deps, svc)
    return {"service": result}


@router.put("/os-services/{service_id}", openapi_extra=policies(P % "update"))
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
    found = hosts.get_service(deps.db, service_id)
    node_uuid = hosts.node_uuids(deps.db, [found.host]).get(found.host)
    svc = hosts.delete_service(deps.db, service_id)
    if svc.binary == hosts.COMPUTE_BINARY:
        if node_uuid:
            try:
                deps.placement.delete_provider(node_uuid)
            except ClientError as exc:
                LOG.warning("cannot delete the provider of %s: %s", svc.host, exc)
    return Response(status_code=204)
