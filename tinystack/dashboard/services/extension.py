"""Skyline's ``extension`` lists: one page of servers, recycled servers, volumes, volume
snapshots or ports, asked of the owning service with its own filters, sort and
pagination (limit/marker), then joined with the names the console shows beside them
(image, project, server, volume, network) in one batched call per kind, never one per
item."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tinystack.common.auth.context import RequestContext
from tinystack.dashboard.services import calls
from tinystack.dashboard.services.deps import Deps
from tinystack.dashboard.services.records import Listing

STEP = 100


@dataclass(frozen=True, slots=True)
class Page:
    """Paging, sorting and scope of a list request."""

    limit: int | None = None
    marker: str | None = None
    sort_keys: tuple[str, ...] = ()
    sort_dir: str | None = None
    all_projects: bool = False


def _params(page: Page, filters: dict[str, object]) -> list[tuple[str, object]]:
    params: list[tuple[str, object]] = [(k, v) for k, v in filters.items() if v is not None]
    if page.limit:
        params.append(("limit", page.limit))
    if page.marker:
        params.append(("marker", page.marker))
    params += [("sort_key", key) for key in page.sort_keys]
    if page.sort_dir and page.sort_keys:
        params.append(("sort_dir", page.sort_dir))
    return params


def _project_names(deps: Deps, token: str) -> dict[str, str]:
    body = calls.get(deps, "identity", "/projects", token)
    return {p["id"]: p["name"] for p in body.get("projects", [])}


def _image_names(deps: Deps, token: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    wanted = sorted(set(ids))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), STEP):
        batch = ",".join(wanted[start : start + STEP])
        body = calls.get(deps, "image", "/v2/images", token, {"id": f"in:{batch}", "limit": STEP})
        found.update({i["id"]: i for i in body.get("images", [])})
    return found


def _addresses(server: dict[str, Any], kind: str) -> list[str]:
    return [
        a.get("addr")
        for addrs in (server.get("addresses") or {}).values()
        for a in addrs
        if a.get("OS-EXT-IPS:type") == kind
    ]


def _server(
    raw: dict[str, Any], images: dict[str, dict[str, Any]], all_projects: bool
) -> dict[str, Any]:
    image = raw.get("image") or None
    image_id = image.get("id") if isinstance(image, dict) else None
    found = images.get(image_id or "", {})
    flavor = raw.get("flavor") or {}
    return {
        "id": raw["id"],
        "name": raw.get("name"),
        "project_id": raw.get("tenant_id"),
        "project_name": None,
        "host": raw.get("OS-EXT-SRV-ATTR:host") if all_projects else None,
        "hostname": raw.get("OS-EXT-SRV-ATTR:hostname"),
        "image": image_id,
        "image_name": found.get("name", "") if image_id else None,
        "image_os_distro": found.get("os_distro", "") if image_id else None,
        "fixed_addresses": _addresses(raw, "fixed"),
        "floating_addresses": _addresses(raw, "floating"),
        "flavor": flavor.get("original_name"),
        "flavor_info": flavor,
        "status": raw.get("status"),
        "locked": raw.get("locked"),
        "created_at": raw.get("created"),
        "updated_at": raw.get("updated"),
        "task_state": raw.get("OS-EXT-STS:task_state"),
        "vm_state": raw.get("OS-EXT-STS:vm_state"),
        "power_state": raw.get("OS-EXT-STS:power_state"),
        "volumes_attached": raw.get("os-extended-volumes:volumes_attached", []),
        "root_device_name": raw.get("OS-EXT-SRV-ATTR:root_device_name"),
        "metadata": raw.get("metadata", {}),
        "origin_data": raw,
    }


def servers(
    deps: Deps,
    ctx: RequestContext,
    page: Page,
    filters: dict[str, object],
    *,
    recycled: bool = False,
) -> Listing:
    """One page of the caller's servers (every project's with ``all_projects``)."""
    token = str(ctx.token)
    if recycled:
        filters = {**filters, "status": "SOFT_DELETED", "deleted": "true"}
    if page.all_projects:
        filters = {**filters, "all_tenants": "1"}
    else:
        filters = {**filters, "project_id": None, "host": None}
    body = calls.get(deps, "compute", "/servers/detail", token, _params(page, filters))
    raws = body.get("servers", [])
    image_ids = [s["image"]["id"] for s in raws if isinstance(s.get("image"), dict)]
    images = (
        _image_names(deps, token, image_ids) if image_ids and "glance" in deps.services() else {}
    )
    items = [_server(raw, images, page.all_projects) for raw in raws]
    if page.all_projects and items:
        names = _project_names(deps, token)
        for item in items:
            item["project_name"] = names.get(item["project_id"], item["project_id"])
    if recycled:
        for item in items:
            item["deleted_at"] = item["updated_at"]
    return Listing(tuple(items))


def _with_names(
    deps: Deps, ctx: RequestContext, items: list[dict[str, Any]], all_projects: bool
) -> None:
    if all_projects and items:
        names = _project_names(deps, str(ctx.token))
        for item in items:
            item["project_name"] = names.get(str(item.get("project_id")), item.get("project_id"))


def _server_names(deps: Deps, token: str, all_projects: bool) -> dict[str, str]:
    if "nova" not in deps.services():
        return {}
    params = {"all_tenants": "1"} if all_projects else None
    body = calls.get(deps, "compute", "/servers", token, params)
    return {s["id"]: s.get("name", "") for s in body.get("servers", [])}


def _volume_page(page: Page, filters: dict[str, object]) -> list[tuple[str, object]]:
    sort = ",".join(f"{k}:{page.sort_dir}" if page.sort_dir else k for k in page.sort_keys)
    plain = Page(page.limit, page.marker)
    params = _params(plain, {**filters, "with_count": "true"})
    if sort:
        params.append(("sort", sort))
    if page.all_projects:
        params.append(("all_tenants", "1"))
    return params


def volumes(deps: Deps, ctx: RequestContext, page: Page, filters: dict[str, object]) -> Listing:
    token = str(ctx.token)
    body = calls.get(deps, "block-storage", "/volumes/detail", token, _volume_page(page, filters))
    raws = body.get("volumes", [])
    servers_ = _server_names(deps, token, page.all_projects) if raws else {}
    items = []
    for raw in raws:
        attachments = [
            {**a, "server_name": servers_.get(str(a.get("server_id")))}
            for a in raw.get("attachments", [])
        ]
        items.append(
            {
                "id": raw["id"],
                "name": raw.get("name"),
                "project_id": raw.get("os-vol-tenant-attr:tenant_id"),
                "project_name": None,
                "host": raw.get("os-vol-host-attr:host"),
                "snapshot_id": raw.get("snapshot_id"),
                "source_volid": raw.get("source_volid"),
                "size": raw.get("size"),
                "status": raw.get("status"),
                "volume_type": raw.get("volume_type"),
                "attachments": attachments,
                "encrypted": raw.get("encrypted"),
                "bootable": raw.get("bootable"),
                "multiattach": raw.get("multiattach"),
                "availability_zone": raw.get("availability_zone"),
                "created_at": raw.get("created_at"),
                "volume_image_metadata": raw.get("volume_image_metadata"),
                "origin_data": raw,
            }
        )
    _with_names(deps, ctx, items, page.all_projects)
    return Listing(tuple(items), body.get("count", len(items)))


def volume_snapshots(
    deps: Deps, ctx: RequestContext, page: Page, filters: dict[str, object]
) -> Listing:
    token = str(ctx.token)
    params = _volume_page(page, filters)
    body = calls.get(deps, "block-storage", "/snapshots/detail", token, params)
    raws = body.get("snapshots", [])
    names: dict[str, str] = {}
    if raws:
        vol_params = {"all_tenants": "1"} if page.all_projects else None
        listed = calls.get(deps, "block-storage", "/volumes", token, vol_params)
        names = {v["id"]: v.get("name", "") for v in listed.get("volumes", [])}
    items = [
        {
            "id": raw["id"],
            "name": raw.get("name"),
            "project_id": raw.get("os-extended-snapshot-attributes:project_id"),
            "project_name": None,
            "size": raw.get("size"),
            "status": raw.get("status"),
            "volume_id": raw.get("volume_id"),
            "volume_name": names.get(str(raw.get("volume_id"))),
            "created_at": raw.get("created_at"),
            "metadata": raw.get("metadata", {}),
            "origin_data": raw,
        }
        for raw in raws
    ]
    _with_names(deps, ctx, items, page.all_projects)
    return Listing(tuple(items), body.get("count", len(items)))


def _ips(port: dict[str, Any], v6: bool) -> list[str]:
    return [
        ip["ip_address"]
        for ip in port.get("fixed_ips", [])
        if (":" in ip.get("ip_address", "")) == v6
    ]


def ports(deps: Deps, ctx: RequestContext, page: Page, filters: dict[str, object]) -> Listing:
    token = str(ctx.token)
    if not page.all_projects:
        filters = {**filters, "project_id": ctx.project_id}
    body = calls.get(deps, "network", "/v2.0/ports", token, _params(page, filters))
    raws = body.get("ports", [])
    compute_owned = any(str(p.get("device_owner", "")).startswith("compute:") for p in raws)
    servers_ = _server_names(deps, token, page.all_projects) if compute_owned else {}
    net_ids = sorted({str(p.get("network_id")) for p in raws})
    networks: dict[str, str] = {}
    for start in range(0, len(net_ids), STEP):
        params: list[tuple[str, object]] = [("id", i) for i in net_ids[start : start + STEP]]
        params += [
            ("fields", "id"),
            ("fields", "name"),
        ]
        listed = calls.get(deps, "network", "/v2.0/networks", token, params)
        networks.update({n["id"]: n.get("name", "") for n in listed.get("networks", [])})
    items = [
        {
            **{
                k: raw.get(k)
                for k in (
                    "id",
                    "name",
                    "mac_address",
                    "device_owner",
                    "device_id",
                    "status",
                    "created_at",
                    "project_id",
                    "network_id",
                    "description",
                    "port_security_enabled",
                    "qos_policy_id",
                    "fixed_ips",
                )
            },  # fmt: skip
            "ipv4": _ips(raw, False),
            "ipv6": _ips(raw, True),
            "binding_vnic_type": raw.get("binding:vnic_type"),
            "server_name": servers_.get(str(raw.get("device_id"))),
            "network_name": networks.get(str(raw.get("network_id"))),
            "origin_data": raw,
        }
        for raw in raws
    ]
    return Listing(tuple(items))


def compute_services(deps: Deps, ctx: RequestContext, filters: dict[str, object]) -> Listing:
    params = {k: v for k, v in filters.items() if v is not None}
    body = calls.get(deps, "compute", "/os-services", str(ctx.token), params)
    keys = ("id", "binary", "disabled_reason", "host", "state", "status", "updated_at",
            "forced_down", "zone")  # fmt: skip
    return Listing(tuple({k: s.get(k) for k in keys} for s in body.get("services", [])))
