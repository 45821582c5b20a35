"""Per-server sub-resources: ips, diagnostics, security groups, migrations, password and
topology (volume attachments: ``volumes_attachments.py``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from tinystack.common.api.microversion import since
from tinystack.common.api.openapi import policies, request_model
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.common.rpc.context import CallContext
from tinystack.compute.api import servers_view
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.microversion import Version
from tinystack.compute.api.rendering import json_response, plain_time
from tinystack.compute.api.schemas import ForceCompleteRequest
from tinystack.compute.services import live_migrations, servers
from tinystack.compute.services.deps import Deps
from tinystack.compute.services.migrations import MigrationRecord

router = APIRouter(tags=["server details"])


def _load(ctx: RequestContext, deps: Deps, server_id: str, rule: str) -> Any:
    return servers.get_authorized(deps, ctx, server_id, rule)


@router.get("/servers/{server_id}/ips", openapi_extra=policies("os_compute_api:ips:index"))
def list_ips(server_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    inst = _load(ctx, deps, server_id, "os_compute_api:ips:index")
    return json_response({"addresses": servers_view.addresses(inst)})


@router.get(
    "/servers/{server_id}/ips/{network_label}", openapi_extra=policies("os_compute_api:ips:show")
)
def show_ips(server_id: str, network_label: str, ctx: ContextDep, deps: DepsDep) -> Response:
    inst = _load(ctx, deps, server_id, "os_compute_api:ips:show")
    found = servers_view.addresses(inst)
    if network_label not in found:
        raise NotFound("Instance is not a member of specified network")
    return json_response({network_label: found[network_label]})


@router.get(
    "/servers/{server_id}/diagnostics",
    openapi_extra=policies("os_compute_api:os-server-diagnostics"),
)
def diagnostics(server_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    inst = _load(ctx, deps, server_id, "os_compute_api:os-server-diagnostics")
    report = servers.diagnostics(deps, CallContext.from_request(ctx), inst)
    data: dict[str, Any] = report.data
    if version < (2, 48):
        legacy = {f"cpu{c['id']}_time": c["time"] for c in data.get("cpu_details", [])}
        legacy["memory"] = data.get("memory_details", {}).get("maximum", 0) * 1024
        return json_response(legacy)
    return json_response(data)


@router.get(
    "/servers/{server_id}/os-security-groups",
    openapi_extra=policies("os_compute_api:os-security-groups:list"),
)
def server_security_groups(server_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    inst = _load(ctx, deps, server_id, "os_compute_api:os-security-groups:list")
    groups: list[dict[str, Any]] = [
        {
            "id": group.id,
            "name": group.name,
            "description": group.description,
            "tenant_id": group.tenant_id,
            "rules": [],
        }
        for group in servers.security_groups(deps, inst)
    ]
    return json_response({"security_groups": groups})


def _migration_view(row: MigrationRecord, version: Version, show_host: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": row.id,
        "server_uuid": row.instance_uuid,
        "status": row.status,
        "source_compute": row.source_compute if show_host else None,
        "source_node": row.source_node if show_host else None,
        "dest_compute": row.dest_compute if show_host else None,
        "dest_node": row.dest_node if show_host else None,
        "dest_host": row.dest_host if show_host else None,
        "memory_total_bytes": row.memory_total,
        "memory_processed_bytes": row.memory_processed,
        "memory_remaining_bytes": row.memory_remaining,
        "disk_total_bytes": row.disk_total,
        "disk_processed_bytes": row.disk_processed,
        "disk_remaining_bytes": row.disk_remaining,
        "created_at": plain_time(row.created_at),
        "updated_at": plain_time(row.updated_at),
    }
    if version >= (2, 59):
        view["uuid"] = row.uuid
    if version >= (2, 80):
        view["user_id"] = row.user_id
        view["project_id"] = row.project_id
    return view


def _shows_host(ctx: RequestContext, inst: Any) -> bool:
    return ctx.allowed("os_compute_api:servers:migrations:index:host", servers.target(inst))


@router.get(
    "/servers/{server_id}/migrations",
    openapi_extra=since("2.23") | policies("os_compute_api:servers:migrations:index"),
)
def server_migrations(
    server_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    if version < (2, 23):
        raise NotFound("The resource could not be found.")
    inst = _load(ctx, deps, server_id, "os_compute_api:servers:migrations:index")
    found = live_migrations.in_progress(deps, CallContext.from_request(ctx), inst.uuid)
    show_host = _shows_host(ctx, inst)
    return json_response({"migrations": [_migration_view(m, version, show_host) for m in found]})


@router.get(
    "/servers/{server_id}/migrations/{migration_id}",
    openapi_extra=since("2.23") | policies("os_compute_api:servers:migrations:show"),
)
def server_migration(
    server_id: str, migration_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    if version < (2, 23):
        raise NotFound("The resource could not be found.")
    inst = _load(ctx, deps, server_id, "os_compute_api:servers:migrations:show")
    found = live_migrations.get_in_progress(
        deps, CallContext.from_request(ctx), inst.uuid, migration_id
    )
    return json_response({"migration": _migration_view(found, version, _shows_host(ctx, inst))})


@router.post(
    "/servers/{server_id}/migrations/{migration_id}/action",
    openapi_extra=since("2.22")
    | policies("os_compute_api:servers:migrations:force_complete")
    | request_model(ForceCompleteRequest),
)
def force_complete(
    server_id: str,
    migration_id: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: dict[str, Any] = Body(...),
) -> Response:
    if version < (2, 22):
        raise NotFound("The resource could not be found.")
    inst = _load(ctx, deps, server_id, "os_compute_api:servers:migrations:force_complete")
    if "force_complete" not in body:
        raise BadRequest(f"There is no such action: {next(iter(body), '')}")
    live_migrations.force_complete(deps, CallContext.from_request(ctx), inst.uuid, migration_id)
    return Response(status_code=202)


@router.delete(
    "/servers/{server_id}/migrations/{migration_id}",
    openapi_extra=since("2.24") | policies("os_compute_api:servers:migrations:delete"),
)
def abort_migration(
    server_id: str, migration_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    if version < (2, 24):
        raise NotFound("The resource could not be found.")
    inst = _load(ctx, deps, server_id, "os_compute_api:servers:migrations:delete")
    live_migrations.abort(
        deps,
        CallContext.from_request(ctx),
        inst.uuid,
        migration_id,
        queued=version >= (2, 65),
    )
    return Response(status_code=202)


@router.get(
    "/servers/{server_id}/os-server-password",
    openapi_extra=policies("os_compute_api:os-server-password:show"),
)
def show_password(server_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    inst = _load(ctx, deps, server_id, "os_compute_api:os-server-password:show")
    return json_response({"password": (inst.system_metadata or {}).get("password", "")})


@router.delete(
    "/servers/{server_id}/os-server-password",
    status_code=204,
    openapi_extra=policies("os_compute_api:os-server-password:clear"),
)
def clear_password(server_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    inst = _load(ctx, deps, server_id, "os_compute_api:os-server-password:clear")
    servers.clear_password(deps, CallContext.from_request(ctx), inst.uuid)
    return Response(status_code=204)


@router.get(
    "/servers/{server_id}/topology",
    openapi_extra=since("2.78")
    | policies("compute:server:topology:index", "compute:server:topology:host:index"),
)
def topology(server_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    if version < (2, 78):
        raise NotFound("The resource could not be found.")
    _load(ctx, deps, server_id, "compute:server:topology:index")
    return json_response({"nodes": [], "pagesize_kb": None})
