"""``POST /os-server-external-events``: other services (networking) report to compute."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.exceptions import BadRequest
from tinystack.common.rpc.context import CallContext
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.microversion import Version
from tinystack.compute.api.rendering import json_response
from tinystack.compute.api.schemas import ExternalEventsRequest
from tinystack.compute.services import external_events

router = APIRouter(tags=["external events"])
P = "os_compute_api:os-server-external-events:create"
STATUSES = ("failed", "completed", "in-progress")


def _names(version: Version) -> list[str]:
    names = [
        "network-changed",
        "network-vif-plugged",
        "network-vif-unplugged",
        "network-vif-deleted",
    ]
    if version >= (2, 51):
        names.append("volume-extended")
    if version >= (2, 76):
        names.append("power-update")
    if version >= (2, 82):
        names.append("accelerator-request-bound")
    if version >= (2, 93):
        names.append("volume-reimaged")
    return names


def _validate(event: Any, version: Version) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise BadRequest("Invalid input for field/attribute events.")
    extra = sorted(set(event) - {"name", "server_uuid", "status", "tag"})
    if extra:
        raise BadRequest(f"Additional properties are not allowed ({extra[0]!r} was unexpected)")
    if event.get("name") not in _names(version):
        raise BadRequest(f"Invalid input for field/attribute name. Value: {event.get('name')}.")
    if not isinstance(event.get("server_uuid"), str):
        raise BadRequest("Invalid input for field/attribute server_uuid.")
    status = event.get("status", "completed")
    if status not in STATUSES:
        raise BadRequest(f"Invalid input for field/attribute status. Value: {status}.")
    tag = event.get("tag")
    if tag is not None and (not isinstance(tag, str) or len(tag) > 255):
        raise BadRequest("Invalid input for field/attribute tag.")
    if event["name"] == "power-update" and tag not in ("POWER_ON", "POWER_OFF"):
        raise BadRequest(f"Invalid input for field/attribute tag. Value: {tag}.")
    return {**event, "status": status}


@router.post(
    "/os-server-external-events", openapi_extra=policies(P) | request_model(ExternalEventsRequest)
)
def create_events(
    ctx: ContextDep, deps: DepsDep, version: VersionDep, body: dict[str, Any] = Body(...)
) -> Response:
    ctx.can(P, {})
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list) or not events or set(body) != {"events"}:
        raise BadRequest("Invalid input for field/attribute events.")
    checked = [_validate(e, version) for e in events]
    outcomes = external_events.deliver(
        deps,
        CallContext.from_request(ctx),
        [
            external_events.ExternalEvent(e["name"], e["server_uuid"], e["status"], e.get("tag"))
            for e in checked
        ],
    )
    results = []
    for event, code in zip(checked, outcomes, strict=True):
        result = dict(event)
        if code == external_events.DELIVERED:
            result["code"] = code
        else:
            result.update(code=code, status="failed")
        results.append(result)
    status = 200 if all(r["code"] == 200 for r in results) else 207
    if all(r["code"] == 404 for r in results):
        status = 404
        return json_response(
            {"itemNotFound": {"code": 404, "message": "No instances found for any event"}}, 404
        )
    return json_response({"events": results}, status)
