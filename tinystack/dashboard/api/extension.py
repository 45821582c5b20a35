"""The joined lists (Skyline's ``extension``): servers, recycled servers, volumes,
volume snapshots, ports and compute services, one page per request."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from tinystack.common.auth.context import RequestContext
from tinystack.dashboard.api.deps import DepsDep, SessionContextDep
from tinystack.dashboard.policies import extension as rules
from tinystack.dashboard.services import extension
from tinystack.dashboard.services.extension import Page

Limit = Annotated[int | None, Query(gt=0)]
SortKeys = Annotated[list[str] | None, Query()]


def _page(
    ctx: RequestContext, limit: int | None, marker: str | None, sort_keys: list[str] | None,
    sort_dirs: str | None, all_projects: bool | None,
) -> Page:  # fmt: skip
    if all_projects:
        ctx.can(rules.ALL_PROJECTS)
    return Page(limit, marker, tuple(sort_keys or ()), sort_dirs, bool(all_projects))


def list_servers(
    deps: DepsDep, ctx: SessionContextDep, limit: Limit = None, marker: str | None = None,
    sort_keys: SortKeys = None, sort_dirs: str | None = None, all_projects: bool | None = None,
    project_id: str | None = None, name: str | None = None, status: str | None = None,
    host: str | None = None, flavor_id: str | None = None, uuid: str | None = None,
    ip: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    page = _page(ctx, limit, marker, sort_keys, sort_dirs, all_projects)
    filters: dict[str, object] = {
        "name": name, "status": status, "host": host, "flavor": flavor_id,
        "project_id": project_id, "uuid": uuid, "ip": ip,
    }  # fmt: skip
    listing = extension.servers(deps, ctx, page, filters)
    return {"servers": [dict(i) for i in listing.items]}


def list_recycle_servers(
    deps: DepsDep, ctx: SessionContextDep, limit: Limit = None, marker: str | None = None,
    sort_keys: SortKeys = None, sort_dirs: str | None = None, all_projects: bool | None = None,
    project_id: str | None = None, name: str | None = None, uuid: str | None = None,
    ip: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    page = _page(ctx, limit, marker, sort_keys, sort_dirs, all_projects)
    filters: dict[str, object] = {"name": name, "project_id": project_id, "uuid": uuid, "ip": ip}
    listing = extension.servers(deps, ctx, page, filters, recycled=True)
    return {"recycle_servers": [dict(i) for i in listing.items]}


def list_volumes(
    deps: DepsDep, ctx: SessionContextDep, limit: Limit = None, marker: str | None = None,
    sort_keys: SortKeys = None, sort_dirs: str | None = None, all_projects: bool | None = None,
    project_id: str | None = None, name: str | None = None, status: str | None = None,
    multiattach: bool | None = None, bootable: bool | None = None, uuid: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    page = _page(ctx, limit, marker, sort_keys, sort_dirs, all_projects)
    filters: dict[str, object] = {
        "name": name, "status": status, "project_id": project_id, "id": uuid,
        "multiattach": None if multiattach is None else str(multiattach),
        "bootable": None if bootable is None else str(bootable),
    }  # fmt: skip
    listing = extension.volumes(deps, ctx, page, filters)
    return {"count": listing.count, "volumes": [dict(i) for i in listing.items]}


def list_volume_snapshots(
    deps: DepsDep, ctx: SessionContextDep, limit: Limit = None, marker: str | None = None,
    sort_keys: SortKeys = None, sort_dirs: str | None = None, all_projects: bool | None = None,
    project_id: str | None = None, name: str | None = None, status: str | None = None,
    volume_id: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    page = _page(ctx, limit, marker, sort_keys, sort_dirs, all_projects)
    filters: dict[str, object] = {
        "name": name, "status": status, "project_id": project_id, "volume_id": volume_id,
    }  # fmt: skip
    listing = extension.volume_snapshots(deps, ctx, page, filters)
    return {"count": listing.count, "volume_snapshots": [dict(i) for i in listing.items]}


def list_ports(
    deps: DepsDep, ctx: SessionContextDep, limit: Limit = None, marker: str | None = None,
    sort_keys: SortKeys = None, sort_dirs: str | None = None, all_projects: bool | None = None,
    project_id: str | None = None, name: str | None = None, status: str | None = None,
    network_id: str | None = None, device_id: str | None = None,
    device_owner: Annotated[list[str] | None, Query()] = None, uuid: str | None = None,
    mac_address: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    page = _page(ctx, limit, marker, sort_keys, sort_dirs, all_projects)
    filters: dict[str, object] = {
        "name": name, "status": status, "project_id": project_id, "network_id": network_id,
        "device_id": device_id, "id": uuid, "mac_address": mac_address,
        "device_owner": device_owner[0] if device_owner and len(device_owner) == 1 else None,
    }  # fmt: skip
    listing = extension.ports(deps, ctx, page, filters)
    return {"ports": [dict(i) for i in listing.items]}


def list_compute_services(
    deps: DepsDep, ctx: SessionContextDep, binary: str | None = None, host: str | None = None
) -> dict[str, Any]:
    ctx.can(rules.COMPUTE_SERVICES)
    listing = extension.compute_services(deps, ctx, {"binary": binary, "host": host})
    return {"services": [dict(i) for i in listing.items]}
