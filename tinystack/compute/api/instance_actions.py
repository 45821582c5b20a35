"""``/servers/{id}/os-instance-actions``: what was asked of a server, with events."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api import pagination as pg
from tinystack.common.api.openapi import policies
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.common.rpc.context import CallContext
from tinystack.compute import exception
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.query import limit_and_marker, parse_time, reject_unknown
from tinystack.compute.api.rendering import base_url, json_response
from tinystack.compute.services import instance_actions, servers
from tinystack.compute.services.instance_actions import ActionRecord, EventRecord

router = APIRouter(tags=["instance actions"])
P = "os_compute_api:os-instance-actions:%s"


def _time(value: datetime | None) -> str | None:
    return value.isoformat(timespec="microseconds") if value is not None else None


def _action(row: ActionRecord, with_updated: bool) -> dict[str, Any]:
    view = {
        "action": row.action,
        "instance_uuid": row.instance_uuid,
        "request_id": row.request_id,
        "user_id": row.user_id,
        "project_id": row.project_id,
        "start_time": _time(row.start_time),
        "message": row.message,
    }
    if with_updated:
        view["updated_at"] = _time(row.updated_at)
    return view


@router.get("/servers/{server_id}/os-instance-actions", openapi_extra=policies(P % "list"))
def list_actions(
    request: Request, server_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    inst = servers.get(
        deps, CallContext.from_request(ctx), server_id, read_deleted=version >= (2, 21)
    )
    ctx.can(P % "list", {"project_id": inst.project_id})
    allowed: set[str] = set()
    if version >= (2, 58):
        allowed = {"limit", "marker", "changes-since"}
    if version >= (2, 66):
        allowed.add("changes-before")
    reject_unknown(request, allowed, version)
    params = request.query_params
    kwargs: dict[str, Any] = {}
    limit = None
    if version >= (2, 58):
        limit, marker = limit_and_marker(request, int(deps.opts.max_limit))
        kwargs = {"limit": limit, "marker": marker}
        if "changes-since" in params:
            kwargs["changes_since"] = parse_time(params["changes-since"], "changes-since")
        if version >= (2, 66) and "changes-before" in params:
            kwargs["changes_before"] = parse_time(params["changes-before"], "changes-before")
            since = kwargs.get("changes_since")
            if since and kwargs["changes_before"] < since:
                raise BadRequest(
                    "The value of changes-since must be less than or equal to changes-before."
                )
    try:
        rows = instance_actions.list_for(deps.db, inst.uuid, **kwargs)
    except exception.ActionNotFound:
        raise pg.marker_not_found(str(kwargs.get("marker"))) from None
    body: dict[str, Any] = {"instanceActions": [_action(r, version >= (2, 58)) for r in rows]}
    if version >= (2, 58) and limit and len(rows) == limit:
        body["links"] = [
            {
                "rel": "next",
                "href": f"{base_url(request)}/v2.1/servers/{inst.uuid}/os-instance-actions"
                f"?limit={limit}&marker={rows[-1].request_id}",
            }
        ]
    return json_response(body)


@router.get(
    "/servers/{server_id}/os-instance-actions/{request_id}",
    openapi_extra=policies(P % "show", P % "events", P % "events:details"),
)
def show_action(
    server_id: str, request_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    inst = servers.get(
        deps, CallContext.from_request(ctx), server_id, read_deleted=version >= (2, 21)
    )
    target = {"project_id": inst.project_id}
    ctx.can(P % "show", target)
    try:
        action, events = instance_actions.get_with_events(deps.db, inst.uuid, request_id)
    except exception.ActionNotFound:
        raise NotFound(f"Action {request_id} not found") from None
    view = _action(action, version >= (2, 58))
    full = ctx.allowed(P % "events", target)
    if full or version >= (2, 51):
        details = version >= (2, 84) and ctx.allowed(P % "events:details", target)
        project = action.project_id or inst.project_id
        view["events"] = [_event(e, project, full, version, details) for e in events]
    return json_response({"instanceAction": view})


def _event(
    row: EventRecord, project: str, full: bool, version: Any, details: bool
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "event": row.event,
        "start_time": _time(row.start_time),
        "finish_time": _time(row.finish_time),
        "result": row.result,
    }
    if full:
        view["traceback"] = row.traceback
    if full and version >= (2, 62):
        view["host"] = row.host
    if version >= (2, 62):
        view["hostId"] = (
            hashlib.sha224((project + row.host).encode()).hexdigest() if row.host else ""
        )
    if details:
        view["details"] = row.details
    return view
