"""How a server looks in the API, at each microversion."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from tinystack.common.auth.context import RequestContext
from tinystack.compute import states
from tinystack.compute.api.microversion import Version
from tinystack.compute.api.rendering import isotime, link, plain_time
from tinystack.compute.services import server_extras
from tinystack.compute.services.deps import Deps
from tinystack.compute.services.instances import instance_name
from tinystack.compute.services.records import ServerRecord
from tinystack.compute.services.server_extras import AttachedVolume, FaultRecord

SERVERS = "os_compute_api:servers:%s"
PROGRESS_STATUSES = ("ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING")
FAULT_STATUSES = ("ERROR", "DELETED")


@dataclass
class ViewOptions:
    """What the caller may see, decided once per request (policies, microversion)."""

    version: Version
    is_admin: bool
    extended_attributes: bool
    extra_specs: bool
    #: None: no host_status; False: any host status; True: only UNKNOWN
    host_status_unknown_only: bool | None
    default_zone: str
    tags: dict[str, list[str]] = field(default_factory=dict)
    faults: dict[str, FaultRecord] = field(default_factory=dict)
    host_statuses: dict[str, str] = field(default_factory=dict)
    volumes: dict[str, list[AttachedVolume]] = field(default_factory=dict)
    #: server group uuids per instance, for show/update/rebuild from 2.71
    server_groups: dict[str, list[str]] | None = None
    show_user_data: bool = True
    #: PUT and rebuild before 2.75 show a reduced view (no AZ, status, usage...)
    restricted: bool = False
    #: key_name in a restricted view (rebuild from 2.54)
    show_keypair: bool = False

    def restrict(self, *, show_keypair: bool = False) -> None:
        """The PUT/rebuild view before 2.75."""
        if self.version >= (2, 75):
            return
        self.restricted = True
        self.show_keypair = show_keypair
        self.extended_attributes = False
        self.host_status_unknown_only = None


def host_id(inst: ServerRecord) -> str:
    if not inst.host:
        return ""
    return hashlib.sha224((inst.project_id + inst.host).encode()).hexdigest()


def addresses(inst: ServerRecord, extend: bool = True) -> dict[str, list[dict[str, Any]]]:
    if inst.vm_state == states.BUILDING:
        return {}
    found: dict[str, list[dict[str, Any]]] = {}
    for vif in inst.network_info or []:
        label = vif.get("network_label") or vif.get("network_id", "")
        entries = found.setdefault(label, [])
        for ip in vif.get("fixed_ips", []):
            entry: dict[str, Any] = {"version": ip.get("version", 4), "addr": ip["ip_address"]}
            if extend:
                entry["OS-EXT-IPS:type"] = "fixed"
                entry["OS-EXT-IPS-MAC:mac_addr"] = vif.get("address", "")
            entries.append(entry)
        for addr in vif.get("floating_ips", []):
            entry = {"version": 6 if ":" in addr else 4, "addr": addr}
            if extend:
                entry["OS-EXT-IPS:type"] = "floating"
                entry["OS-EXT-IPS-MAC:mac_addr"] = vif.get("address", "")
            entries.append(entry)
    return found


def flavor_view(request: Request, flavor: dict[str, Any], opts: ViewOptions) -> dict[str, Any]:
    if opts.version >= (2, 47):
        view: dict[str, Any] = {
            "vcpus": flavor.get("vcpus"),
            "ram": flavor.get("memory_mb"),
            "disk": flavor.get("root_gb"),
            "ephemeral": flavor.get("ephemeral_gb", 0),
            "swap": flavor.get("swap") or 0,
            "original_name": flavor.get("name"),
        }
        if opts.extra_specs:
            view["extra_specs"] = dict(flavor.get("extra_specs") or {})
        return view
    flavorid = str(flavor.get("flavorid"))
    base = str(request.base_url).rstrip("/")
    return {"id": flavorid, "links": [{"rel": "bookmark", "href": f"{base}/flavors/{flavorid}"}]}


def image_view(request: Request, inst: ServerRecord) -> dict[str, Any] | str:
    if not inst.image_ref:
        return ""
    base = str(request.base_url).rstrip("/")
    return {
        "id": inst.image_ref,
        "links": [{"rel": "bookmark", "href": f"{base}/images/{inst.image_ref}"}],
    }


def fault_view(fault: FaultRecord, is_admin: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "code": fault.code,
        "created": isotime(fault.created_at),
        "message": fault.message,
    }
    if fault.details and (is_admin or fault.code != 500):
        view["details"] = fault.details
    return view


def basic(request: Request, inst: ServerRecord) -> dict[str, Any]:
    return {
        "id": inst.uuid,
        "name": inst.display_name,
        "links": link(request, "servers", inst.uuid),
    }


def show(request: Request, inst: ServerRecord, opts: ViewOptions) -> dict[str, Any]:
    """The detailed view of one server."""
    v = opts.version
    status = states.status(inst.vm_state, inst.task_state, inst.deleted)
    server: dict[str, Any] = {
        "id": inst.uuid,
        "name": inst.display_name,
        "status": status,
        "tenant_id": inst.project_id,
        "user_id": inst.user_id,
        "metadata": dict(inst.user_metadata or {}),
        "hostId": host_id(inst),
        "image": image_view(request, inst),
        "flavor": flavor_view(request, inst.flavor or {}, opts),
        "created": isotime(inst.created_at),
        "updated": isotime(inst.updated_at or inst.created_at),
        "addresses": addresses(inst, extend=not opts.restricted),
        "accessIPv4": inst.access_ip_v4 or "",
        "accessIPv6": inst.access_ip_v6 or "",
        "links": link(request, "servers", inst.uuid),
        "OS-DCF:diskConfig": "AUTO" if inst.auto_disk_config else "MANUAL",
    }
    if status in FAULT_STATUSES:
        fault = opts.faults.get(inst.uuid)
        if fault is not None:
            server["fault"] = fault_view(fault, opts.is_admin)
    if status in PROGRESS_STATUSES:
        server["progress"] = inst.progress or 0
    full = not opts.restricted
    if full:
        server["OS-EXT-AZ:availability_zone"] = inst.availability_zone or ""
        server["config_drive"] = inst.config_drive or ""
    if full or opts.show_keypair:
        server["key_name"] = inst.key_name
    if full:
        server["OS-SRV-USG:launched_at"] = plain_time(inst.launched_at)
        server["OS-SRV-USG:terminated_at"] = plain_time(inst.terminated_at)
        groups = [{"name": name} for name in inst.security_groups or []]
        if groups:
            server["security_groups"] = groups
    if opts.extended_attributes:
        _extended(server, inst, opts)
    if full:
        server["OS-EXT-STS:task_state"] = inst.task_state
        server["OS-EXT-STS:vm_state"] = inst.vm_state
        server["OS-EXT-STS:power_state"] = inst.power_state
        server["os-extended-volumes:volumes_attached"] = [
            {"id": a.id, "delete_on_termination": a.delete_on_termination}
            if v >= (2, 3)
            else {"id": a.id}
            for a in opts.volumes.get(inst.uuid, [])
        ]
    if v >= (2, 9):
        server["locked"] = bool(inst.locked)
    if v >= (2, 16) and opts.host_status_unknown_only is not None:
        host_status = opts.host_statuses.get(inst.uuid, "")
        if not opts.host_status_unknown_only or host_status == "UNKNOWN":
            server["host_status"] = host_status
    if v >= (2, 19):
        server["description"] = inst.display_description
    if v >= (2, 26):
        server["tags"] = list(opts.tags.get(inst.uuid, []))
    if v >= (2, 63):
        server["trusted_image_certificates"] = inst.trusted_certs or None
    if opts.server_groups is not None and v >= (2, 71):
        server["server_groups"] = list(opts.server_groups.get(inst.uuid, []))
    if v >= (2, 73):
        server["locked_reason"] = inst.locked_reason
    if v >= (2, 90) and not opts.extended_attributes:
        server["OS-EXT-SRV-ATTR:hostname"] = inst.hostname
    if v >= (2, 96) and full:
        server["pinned_availability_zone"] = (inst.request_spec or {}).get("availability_zone")
    return server


def _extended(server: dict[str, Any], inst: ServerRecord, opts: ViewOptions) -> None:
    server["OS-EXT-SRV-ATTR:host"] = inst.host
    server["OS-EXT-SRV-ATTR:instance_name"] = instance_name(inst)
    server["OS-EXT-SRV-ATTR:hypervisor_hostname"] = inst.node
    if opts.version >= (2, 3):
        server["OS-EXT-SRV-ATTR:hostname"] = inst.hostname
        server["OS-EXT-SRV-ATTR:kernel_id"] = inst.kernel_id or ""
        server["OS-EXT-SRV-ATTR:launch_index"] = inst.launch_index
        server["OS-EXT-SRV-ATTR:ramdisk_id"] = inst.ramdisk_id or ""
        server["OS-EXT-SRV-ATTR:reservation_id"] = inst.reservation_id
        server["OS-EXT-SRV-ATTR:root_device_name"] = inst.root_device_name
        if opts.show_user_data:
            server["OS-EXT-SRV-ATTR:user_data"] = inst.user_data


def view_options(
    ctx: RequestContext,
    deps: Deps,
    version: Version,
    servers: list[ServerRecord],
    *,
    with_groups: bool,
) -> ViewOptions:
    target = (
        {"project_id": servers[0].project_id, "user_id": servers[0].user_id}
        if len(servers) == 1
        else {"project_id": ctx.project_id}
    )
    extended = ctx.allowed("os_compute_api:os-extended-server-attributes", target)
    extra_specs = version >= (2, 47) and ctx.allowed(SERVERS % "show:flavor-extra-specs", target)
    unknown_only: bool | None = None
    if ctx.allowed(SERVERS % "show:host_status", target):
        unknown_only = False
    elif ctx.allowed(SERVERS % "show:host_status:unknown-only", target):
        unknown_only = True
    extras = server_extras.gather(
        deps,
        servers,
        tags=version >= (2, 26),
        host_status=unknown_only is not None,
        groups=with_groups and version >= (2, 71),
    )
    return ViewOptions(
        version=version,
        is_admin=ctx.is_admin,
        extended_attributes=extended,
        extra_specs=extra_specs,
        host_status_unknown_only=unknown_only,
        default_zone=deps.opts.default_availability_zone,
        tags=extras.tags,
        faults=extras.faults,
        host_statuses=extras.host_statuses,
        server_groups=extras.server_groups,
        volumes=extras.volumes,
    )
