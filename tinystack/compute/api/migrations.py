"""``/os-migrations``: resize and migration records."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies
from tinystack.common.exceptions import BadRequest
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.microversion import Version
from tinystack.compute.api.query import limit_and_marker, parse_time, reject_unknown
from tinystack.compute.api.rendering import base_url, json_response, plain_time
from tinystack.compute.services import migrations
from tinystack.compute.services.migrations import MigrationRecord

router = APIRouter(tags=["migrations"])
P = "os_compute_api:os-migrations:%s"


def _view(row: MigrationRecord, version: Version, show_host: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": row.id,
        "source_node": row.source_node if show_host else None,
        "dest_node": row.dest_node if show_host else None,
        "source_compute": row.source_compute if show_host else None,
        "dest_compute": row.dest_compute if show_host else None,
        "dest_host": row.dest_host if show_host else None,
        "status": row.status,
        "instance_uuid": row.instance_uuid,
        "old_instance_type_id": row.old_flavor_id,
        "new_instance_type_id": row.new_flavor_id,
        "created_at": plain_time(row.created_at),
        "updated_at": plain_time(row.updated_at),
    }
    if version >= (2, 23):
        view["migration_type"] = row.migration_type
    if version >= (2, 59):
        view["uuid"] = row.uuid
    if version >= (2, 80):
        view["user_id"] = row.user_id
        view["project_id"] = row.project_id
    return view


@router.get(
    "/os-migrations",
    openapi_extra=policies(P % "index", P % "index:all_projects", P % "index:host"),
)
def list_migrations(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    ctx.can(P % "index", {"project_id": ctx.project_id})
    allowed = {"host", "status", "instance_uuid", "source_compute", "hidden"}
    if version >= (2, 23):
        allowed.add("migration_type")
    if version >= (2, 59):
        allowed |= {"limit", "marker", "changes-since"}
    if version >= (2, 66):
        allowed.add("changes-before")
    if version >= (2, 80):
        allowed |= {"user_id", "project_id"}
    reject_unknown(request, allowed, version)
    params = request.query_params
    kwargs: dict[str, Any] = {
        "instance_uuid": params.get("instance_uuid"),
        "host": params.get("host") or params.get("source_compute"),
        "status": params.get("status"),
        "migration_type": params.get("migration_type") if version >= (2, 23) else None,
    }
    if version >= (2, 80):
        kwargs["user_id"] = params.get("user_id")
        kwargs["project_id"] = params.get("project_id")
    if not ctx.allowed(P % "index:all_projects", {"project_id": ctx.project_id}):
        kwargs["project_id"] = ctx.project_id
    show_host = ctx.allowed(P % "index:host", {"project_id": ctx.project_id})
    if kwargs["host"] and not show_host:
        raise BadRequest("Only administrators may filter migrations by host")
    limit = None
    if version >= (2, 59):
        limit, kwargs["marker"] = limit_and_marker(request, int(deps.opts.max_limit))
        kwargs["limit"] = limit
        if "changes-since" in params:
            kwargs["changes_since"] = parse_time(params["changes-since"], "changes-since")
        if "changes-before" in params and version >= (2, 66):
            kwargs["changes_before"] = parse_time(params["changes-before"], "changes-before")
    rows = migrations.list_migrations(deps.db, **kwargs)
    body: dict[str, Any] = {"migrations": [_view(r, version, show_host) for r in rows]}
    if limit and len(rows) == limit:
        body["migrations_links"] = [
            {
                "rel": "next",
                "href": f"{base_url(request)}/v2.1/os-migrations"
                f"?limit={limit}&marker={rows[-1].uuid}",
            }
        ]
    return json_response(body)
