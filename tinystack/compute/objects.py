"""Compute's value objects: what the agent, the virt drivers, the services and the
metadata service hand each other about an instance, a flavor, an image, a port or a host,
and the payloads that carry them between compute's workers over RPC.

Frozen dataclasses built from database rows by ``services/instances.py``; drivers and the
metadata service read them and never see a database row. The ones that cross RPC derive
from :class:`~tinystack.common.rpc.payload.Payload` (``to_primitive``/``from_primitive``);
bump a payload's ``VERSION`` when its fields change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol, TypedDict

from tinystack.common.rpc.payload import JSON, Payload, since


@dataclass(frozen=True)
class FlavorMeta(Payload):
    """A flavor as copied into an instance (it survives the flavor's deletion)."""

    flavorid: str
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int
    ephemeral_gb: int = 0
    swap: int = 0
    extra_specs: dict[str, str] = field(default_factory=dict)
    #: the flavor's database id (None in copies older than it)
    id: int | None = None
    rxtx_factor: float = 1.0
    vcpu_weight: int | None = None
    is_public: bool = True
    disabled: bool = False
    description: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FlavorMeta:
        """From the copy an instance stores (``instances.flavor``, ``new_flavor``)."""
        return cls(
            flavorid=str(data.get("flavorid", "")),
            name=str(data.get("name", "")),
            vcpus=int(data.get("vcpus", 0)),
            memory_mb=int(data.get("memory_mb", 0)),
            root_gb=int(data.get("root_gb", 0)),
            ephemeral_gb=int(data.get("ephemeral_gb", 0)),
            swap=int(data.get("swap") or 0),
            extra_specs=dict(data.get("extra_specs") or {}),
            id=data.get("id"),
            rxtx_factor=float(data.get("rxtx_factor", 1.0)),
            vcpu_weight=data.get("vcpu_weight"),
            is_public=bool(data.get("is_public", True)),
            disabled=bool(data.get("disabled", False)),
            description=data.get("description"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The copy an instance stores, as ``services/flavors.snapshot`` writes it."""
        return {
            "id": self.id,
            "flavorid": self.flavorid,
            "name": self.name,
            "vcpus": self.vcpus,
            "memory_mb": self.memory_mb,
            "root_gb": self.root_gb,
            "ephemeral_gb": self.ephemeral_gb,
            "swap": self.swap,
            "rxtx_factor": self.rxtx_factor,
            "vcpu_weight": self.vcpu_weight,
            "is_public": self.is_public,
            "disabled": self.disabled,
            "description": self.description,
            "extra_specs": dict(self.extra_specs),
        }


@dataclass(frozen=True)
class ImageMeta(Payload):
    id: str
    name: str = ""
    disk_format: str | None = None
    container_format: str | None = None
    size: int = 0
    min_disk: int = 0
    min_ram: int = 0
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SubnetMeta:
    """A subnet of one of an instance's fixed IPs, as the network service described it."""

    id: str
    cidr: str
    gateway_ip: str | None = None
    enable_dhcp: bool = True
    dns_nameservers: tuple[str, ...] = ()
    #: (destination CIDR, nexthop) pairs
    host_routes: tuple[tuple[str, str], ...] = ()
    ipv6_address_mode: str | None = None

    @classmethod
    def from_stored(cls, subnet: dict[str, Any]) -> SubnetMeta:
        """From a subnet as a stored VIF keeps it (``services/ports.py`` writes it)."""
        return cls(
            id=str(subnet.get("id", "")),
            cidr=str(subnet["cidr"]),
            gateway_ip=subnet.get("gateway_ip") or None,
            enable_dhcp=bool(subnet.get("enable_dhcp", True)),
            dns_nameservers=tuple(subnet.get("dns_nameservers") or ()),
            host_routes=tuple(
                (str(r["destination"]), str(r["nexthop"])) for r in subnet.get("host_routes") or []
            ),
            ipv6_address_mode=subnet.get("ipv6_address_mode") or None,
        )


@dataclass(frozen=True)
class VIF:
    """One network interface of an instance (a port)."""

    id: str
    address: str
    network_id: str
    network_label: str = ""
    fixed_ips: tuple[str, ...] = ()
    active: bool = True
    tag: str | None = None
    floating_ips: tuple[str, ...] = ()
    #: the subnets of ``fixed_ips`` when known (the instance's stored network info)
    subnets: tuple[SubnetMeta, ...] = ()
    mtu: int | None = None

    @classmethod
    def from_stored(cls, vif: dict[str, Any]) -> VIF:
        """The driver's view of one entry of an instance's stored ``network_info``."""
        return cls(
            id=vif["id"],
            address=vif.get("address", ""),
            network_id=vif.get("network_id", ""),
            network_label=vif.get("network_label", ""),
            fixed_ips=tuple(ip["ip_address"] for ip in vif.get("fixed_ips", [])),
            active=bool(vif.get("active", True)),
            tag=vif.get("tag"),
            floating_ips=tuple(vif.get("floating_ips") or ()),
            subnets=tuple(
                SubnetMeta.from_stored(s) for s in vif.get("subnets") or [] if s.get("cidr")
            ),
            mtu=int(vif["mtu"]) if vif.get("mtu") else None,
        )


@dataclass(frozen=True)
class InstanceMeta:
    uuid: str
    name: str
    hostname: str
    project_id: str
    user_id: str
    flavor: FlavorMeta
    image: ImageMeta | None = None
    user_data: str | None = None
    key_data: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    # what the metadata service and the config drive also show
    display_name: str = ""
    key_name: str = ""
    availability_zone: str = ""
    launch_index: int = 0
    reservation_id: str = ""
    security_groups: tuple[str, ...] = ()
    #: the database id (EC2-style ids are derived from it)
    internal_id: int = 0
    root_device_name: str = ""
    #: what the user asked for at create ("True" or ""; upstream's ``config_drive``): a
    #: driver writes a config drive when asked, or always with ``force_config_drive``
    config_drive: str = ""
    #: the task the instance is in (a driver keeps a shared RBD root disk through the
    #: destination's cleanup of a resize being reverted, as Nova's ``_cleanup_rbd``, and
    #: starts an evacuated instance, spawned in ``REBUILD_SPAWNING``, from its disks on
    #: shared storage)
    task_state: str | None = None


@dataclass(frozen=True, slots=True)
class DiskStats:
    """A guest disk's counters since its QEMU started (``query-blockstats``)."""

    device: str
    read_bytes: int
    read_requests: int
    write_bytes: int
    write_requests: int


@dataclass(frozen=True, slots=True)
class NicStats:
    """A guest interface's counters, as the guest sees them (its tap's, swapped)."""

    tap: str
    incoming_bytes: int
    outgoing_bytes: int
    incoming_packets: int
    outgoing_packets: int
    incoming_drops: int
    outgoing_drops: int
    incoming_errors: int
    outgoing_errors: int


@dataclass(frozen=True, slots=True)
class GuestStats:
    """What the telemetry poller measures of a running guest."""

    cpu_ns: int
    vcpus: int
    memory_mb: int
    memory_resident_mb: float
    disks: tuple[DiskStats, ...] = ()
    nics: tuple[NicStats, ...] = ()


@dataclass(frozen=True)
class InstanceInfo:
    """What the hypervisor says about an instance."""

    power_state: int
    internal_id: str = ""


@dataclass(frozen=True)
class HostResources:
    vcpus: int
    memory_mb: int
    local_gb: int
    hypervisor_type: str
    hypervisor_version: int
    hypervisor_hostname: str
    host_ip: str = "127.0.0.1"
    cpu_info: dict[str, Any] = field(default_factory=dict)
    supported_instances: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class ConsoleInfo(Payload):
    host: str
    port: int
    internal_access_path: str | None = None


@dataclass(frozen=True)
class DiskImage:
    """A snapshot's data, streamed by the agent to the image service."""

    disk_format: str
    container_format: str
    chunks: Iterator[bytes]


#: statuses of a live migration still under way (the agents' and the API's one list)
LIVE_UNDER_WAY = ("queued", "preparing", "running", "post-migrating")


@dataclass(frozen=True)
class MigrationMeta:
    """A resize, cold migration or evacuation, as the agents and drivers see it."""

    uuid: str
    source_host: str
    dest_host: str
    migration_type: str
    source_node: str | None = None
    dest_node: str | None = None
    instance_uuid: str = ""
    status: str = ""


class MigrationChanges(TypedDict, total=False):
    """The columns of a migration that the agents write."""

    status: str
    dest_compute: str
    dest_node: str
    dest_host: str
    memory_total: int
    memory_processed: int
    memory_remaining: int
    disk_total: int
    disk_processed: int
    disk_remaining: int


@dataclass(frozen=True)
class DiskInfo(Payload):
    """What a resize's source driver hands the destination's driver (only drivers read it)."""

    data: dict[str, JSON] = field(default_factory=dict)


@dataclass(frozen=True)
class Diagnostics(Payload):
    """A driver's diagnostics report, in the API's (microversion 2.48) shape."""

    data: dict[str, JSON] = field(default_factory=dict)


@dataclass(frozen=True)
class AttachedInterface(Payload):
    """A newly attached interface: its entry of the instance's network info, as stored."""

    vif: dict[str, JSON] = field(default_factory=dict)


@dataclass(frozen=True)
class BlockDevice(Payload):
    """One volume of an instance (a block device mapping with ``destination_type`` volume),
    as the service layer stores it and the agents and drivers use it.

    ``source_type`` says where the volume came from: ``volume`` (the user's), or one compute
    creates at boot from an ``image``, a ``snapshot`` or nothing (``blank``) -- then
    ``volume_id`` is None until it exists. ``connection_info`` is the attachment's, in
    Nova's shape (``driver_volume_type`` and ``data``), once the volume is attached.
    """

    uuid: str
    instance_uuid: str
    source_type: str
    destination_type: str = "volume"
    boot_index: int | None = None
    device_name: str | None = None
    delete_on_termination: bool = False
    volume_id: str | None = None
    snapshot_id: str | None = None
    image_id: str | None = None
    volume_size: int | None = None
    volume_type: str | None = None
    disk_bus: str | None = None
    device_type: str | None = None
    guest_format: str | None = None
    tag: str | None = None
    attachment_id: str | None = None
    connection_info: dict[str, JSON] | None = None

    @property
    def is_root(self) -> bool:
        return self.boot_index == 0


# -- what crosses RPC between the API, the conductor, the scheduler and the agents -----------
@dataclass(frozen=True)
class NetworkRequest(Payload):
    """One entry of a create request's ``networks``."""

    network_id: str | None = None
    port_id: str | None = None
    fixed_ip: str | None = None
    tag: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "network_id": self.network_id,
            "port_id": self.port_id,
            "fixed_ip": self.fixed_ip,
            "tag": self.tag,
        }


@dataclass(frozen=True)
class ServerGroupMeta(Payload):
    """The ``group`` scheduler hint's server group."""

    uuid: str
    policy: str
    rules: dict[str, JSON] = field(default_factory=dict)
    #: the hosts of its members, filled in by the scheduler while it decides
    hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Destination(Payload):
    """A host (and node) the caller asked for."""

    host: str | None = None
    node: str | None = None


@dataclass(frozen=True)
class RequestSpec(Payload):
    """What the scheduler is asked, built once by the API (``services/server_create.py``).

    Stored with the instance as :meth:`to_dict` (``instances.request_spec``), so moves
    schedule the instance again as it was created.
    """

    project_id: str
    user_id: str
    flavor: FlavorMeta
    image: ImageMeta | None = None
    availability_zone: str | None = None
    scheduler_hints: dict[str, JSON] = field(default_factory=dict)
    group: ServerGroupMeta | None = None
    force_hosts: tuple[str, ...] = ()
    force_nodes: tuple[str, ...] = ()
    requested_destination: Destination | None = None
    ignore_hosts: tuple[str, ...] = ()
    num_instances: int = 1
    is_bfv: bool = False
    #: the explicit ``networks`` of the request, else None
    requested_networks: tuple[NetworkRequest, ...] | None = None
    #: ``"auto"`` or ``"none"`` when the request said so instead of listing networks
    network_mode: str | None = None
    security_groups: tuple[str, ...] = ()

    @property
    def extra_specs(self) -> dict[str, str]:
        return dict(self.flavor.extra_specs)

    @property
    def image_properties(self) -> dict[str, Any]:
        return dict(self.image.properties) if self.image else {}

    def hint_list(self, name: str) -> list[str]:
        value = self.scheduler_hints.get(name)
        if value is None:
            return []
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]

    def networks(self) -> list[dict[str, Any]] | str | None:
        """The request's networks as the network allocation reads them."""
        if self.requested_networks is not None:
            return [n.to_dict() for n in self.requested_networks]
        return self.network_mode

    def to_dict(self) -> dict[str, Any]:
        """The form stored with the instance."""
        image = self.image
        group = self.group
        dest = self.requested_destination
        return {
            "project_id": self.project_id,
            "user_id": self.user_id,
            "flavor": self.flavor.to_dict(),
            "image": {
                "id": image.id,
                "properties": dict(image.properties),
                "min_ram": image.min_ram,
                "min_disk": image.min_disk,
            }
            if image
            else None,
            "availability_zone": self.availability_zone,
            "scheduler_hints": dict(self.scheduler_hints),
            "group": {"uuid": group.uuid, "policy": group.policy, "rules": dict(group.rules)}
            if group
            else None,
            "force_hosts": list(self.force_hosts),
            "force_nodes": list(self.force_nodes),
            "requested_destination": {"host": dest.host, "node": dest.node} if dest else None,
            "num_instances": self.num_instances,
            "is_bfv": self.is_bfv,
            "ignore_hosts": list(self.ignore_hosts),
            "requested_networks": self.networks(),
            "security_groups": list(self.security_groups),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RequestSpec:
        """From the form stored with the instance."""
        image = data.get("image")
        group = data.get("group")
        dest = data.get("requested_destination")
        networks = data.get("requested_networks")
        return cls(
            project_id=str(data.get("project_id") or ""),
            user_id=str(data.get("user_id") or ""),
            flavor=FlavorMeta.from_dict(dict(data.get("flavor") or {})),
            image=ImageMeta(
                id=str(image.get("id") or ""),
                min_ram=int(image.get("min_ram") or 0),
                min_disk=int(image.get("min_disk") or 0),
                properties=dict(image.get("properties") or {}),
            )
            if image
            else None,
            availability_zone=data.get("availability_zone"),
            scheduler_hints=dict(data.get("scheduler_hints") or {}),
            group=ServerGroupMeta(
                uuid=str(group["uuid"]),
                policy=str(group.get("policy") or ""),
                rules=dict(group.get("rules") or {}),
                hosts=tuple(group.get("hosts") or ()),
            )
            if group
            else None,
            force_hosts=tuple(data.get("force_hosts") or ()),
            force_nodes=tuple(data.get("force_nodes") or ()),
            requested_destination=Destination(host=dest.get("host"), node=dest.get("node"))
            if dest
            else None,
            ignore_hosts=tuple(data.get("ignore_hosts") or ()),
            num_instances=int(data.get("num_instances") or 1),
            is_bfv=bool(data.get("is_bfv")),
            requested_networks=tuple(NetworkRequest(**n) for n in networks)
            if isinstance(networks, list)
            else None,
            network_mode=networks if isinstance(networks, str) else None,
            security_groups=tuple(data.get("security_groups") or ()),
        )


@dataclass(frozen=True)
class MoveRequest(Payload):
    """How to schedule an existing instance again (resize, cold migration, unshelve)."""

    ignore_hosts: tuple[str, ...] = ()
    #: try the instance's own host when no other fits (resize to the same host allowed)
    same_host_last: bool = False
    requested_destination: Destination | None = None
    availability_zone: str | None = None


@dataclass(frozen=True)
class Evacuation(Payload):
    """An evacuation the API accepted: its migration and how the server is rebuilt."""

    migration_uuid: str
    admin_password: str | None = None
    #: before 2.14: the caller's word that the disks are on storage the hosts share
    on_shared_storage: bool | None = None
    #: a host to use without the scheduler's checks (``force``, 2.29 to 2.67)
    force_host: str | None = None
    #: the server ends stopped (2.95)
    stopped: bool = False


@dataclass(frozen=True)
class Selection(Payload):
    """A host the scheduler chose (and claimed, for the first of a list) for an instance."""

    host: str
    nodename: str
    compute_node_uuid: str
    #: the placement allocation request behind the choice: provider -> {"resources": ...}
    allocations: dict[str, dict[str, JSON]] = field(default_factory=dict)


@dataclass(frozen=True)
class HostList(Payload):
    """For one instance: the chosen host then its alternates (or only alternates)."""

    selections: tuple[Selection, ...] = ()


@dataclass(frozen=True)
class Destinations(Payload):
    """The scheduler's answer: one :class:`HostList` per instance, in order."""

    host_lists: tuple[HostList, ...] = ()


@dataclass(frozen=True)
class ScheduledEvent(Payload):
    """The conductor's scheduling event, for the agent to record with the host assignment.

    1.1: ``host``, the conductor's (the event's host; a 1.0 agent records its own)."""

    VERSION: ClassVar[str] = "1.1"

    event: str
    started: datetime
    finished: datetime
    host: str | None = field(default=None, metadata=since("1.1"))


# -- what a compute agent reads and writes about instances and hosts -------------------------
class InstanceChanges(TypedDict, total=False):
    """The columns of an instance that the agent's operations write."""

    vm_state: str
    task_state: str | None
    power_state: int
    host: str | None
    node: str | None
    launched_at: datetime
    terminated_at: datetime
    deleted_at: datetime
    deleted: bool
    progress: int
    network_info: list[dict[str, Any]]
    system_metadata: dict[str, Any]
    flavor: dict[str, Any]
    flavorid: str
    vcpus: int
    memory_mb: int
    old_flavor: dict[str, Any] | None
    new_flavor: dict[str, Any] | None


class BlockDeviceChanges(TypedDict, total=False):
    """The columns of a block device mapping that attach, detach, swap and boot write."""

    volume_id: str | None
    attachment_id: str | None
    connection_info: dict[str, JSON] | None
    device_name: str | None
    volume_size: int | None
    delete_on_termination: bool


@dataclass(frozen=True, slots=True)
class AgentInstance:
    """An instance as a compute agent sees it: its states, what it stores, the driver's view.

    ``meta`` is built once per load (named by ``instance_name_template``); the stored
    JSON columns are the agent's to copy, never to change in place.
    """

    uuid: str
    meta: InstanceMeta
    project_id: str
    user_id: str
    host: str | None
    node: str | None
    availability_zone: str | None
    vm_state: str
    task_state: str | None
    power_state: int
    flavor: dict[str, Any]
    old_flavor: dict[str, Any] | None
    system_metadata: dict[str, Any]
    network_info: list[dict[str, Any]]
    security_groups: list[str]
    request_spec: dict[str, Any]
    deleted: bool = False
    created_at: datetime | None = None
    launched_at: datetime | None = None
    terminated_at: datetime | None = None

    @property
    def hostname(self) -> str:
        """The instance's hostname (what its ports' ``dns_name`` is set to)."""
        return self.meta.hostname

    @property
    def vifs(self) -> list[VIF]:
        """The driver's view of the instance's stored network info."""
        return [VIF.from_stored(vif) for vif in self.network_info or []]


class PortOwner(Protocol):
    """What the ports of an instance are made from: an instance row or an :class:`AgentInstance`
    (``services/ports.py`` takes either)."""

    @property
    def uuid(self) -> str: ...
    @property
    def project_id(self) -> str: ...
    @property
    def availability_zone(self) -> str | None: ...
    @property
    def security_groups(self) -> list[str]: ...
    @property
    def request_spec(self) -> dict[str, Any]: ...
    @property
    def network_info(self) -> list[dict[str, Any]]: ...
    @property
    def hostname(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class EventEnd:
    """How an instance action event ends, written with the change that ends it.

    ``started`` creates the event (start and finish in one write); ``finish_action`` also
    closes the action.
    """

    name: str
    host: str | None
    started: datetime | None = None
    error: BaseException | None = None
    finish_action: bool = False


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """What an agent registers for one host: its service and its compute node."""

    host: str
    node_uuid: str
    resources: HostResources
    cpu_allocation_ratio: float
    ram_allocation_ratio: float
    disk_allocation_ratio: float


@dataclass(frozen=True, slots=True)
class HostService:
    """A compute host's service, as the agents of a process need it."""

    id: int
    host: str
    disabled: bool


@dataclass(frozen=True)
class LiveMigrateData(Payload):
    """What the two ends of a live migration tell each other (upstream's migrate_data).

    The destination's check fills ``shared_storage`` and ``dest_address``; the source's
    check decides ``block_migration``; the destination's preparation fills
    ``incoming_uri`` (where its QEMU listens for the guest's state) and ``disk_targets``
    (device -> the NBD URI a block migration mirrors that disk to).

    1.1: ``wait_for_vif_plugged``, the destination's ``live_migration_wait_for_vif_plug``
    (a 1.0 destination is not waited for).
    1.2: ``target``, what the destination's driver tells the source's."""

    VERSION: ClassVar[str] = "1.2"

    block_migration: bool = False
    shared_storage: bool = False
    dest_address: str = ""
    #: the destination's probe file in its instances directory (shared-storage check)
    probe: str = ""
    incoming_uri: str = ""
    disk_targets: dict[str, str] = field(default_factory=dict)
    #: volume id -> the connection info of its attachment made for the destination
    volume_connections: dict[str, dict[str, JSON]] = field(default_factory=dict)
    #: volume id -> the attachment id the destination's connection belongs to
    volume_attachments: dict[str, str] = field(default_factory=dict)
    #: block_migration was "auto": the source decides from the storage
    auto_block: bool = False
    #: what the source's driver tells the destination's (the QEMU driver: the guest's
    #: definition, its local disks' sizes, its config drive)
    source: dict[str, JSON] = field(default_factory=dict)
    #: the source waits for the ports' network-vif-plugged before the switch-over
    wait_for_vif_plugged: bool = field(default=False, metadata=since("1.1"))
    #: what the destination's driver tells the source's (the libvirt driver: the URI its
    #: libvirtd is reached at by peers, the domain XML the guest gets there)
    target: dict[str, JSON] = field(default_factory=dict, metadata=since("1.2"))


@dataclass(frozen=True, slots=True)
class MigrationProgress:
    """A running live migration's counters (bytes) and QEMU's downtime figure (ms)."""

    memory_total: int = 0
    memory_processed: int = 0
    memory_remaining: int = 0
    disk_total: int = 0
    disk_processed: int = 0
    disk_remaining: int = 0
    downtime_ms: int | None = None
