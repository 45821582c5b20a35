"""What the network service layer returns: frozen records, detached from the database.

The API renders them (``api/views.py``) and applies Neutron's field-level policy to the
rendered view; agents get them as RPC payloads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tinystack.common.rpc.payload import JSON
from tinystack.network.plugins.type_base import Segment


@dataclass(frozen=True, slots=True)
class NetworkRecord:
    id: str
    name: str
    project_id: str
    admin_state_up: bool
    status: str
    subnets: tuple[str, ...]
    #: shared with the caller's project (or every project)
    shared: bool
    external: bool
    mtu: int
    port_security_enabled: bool
    availability_zone_hints: tuple[str, ...]
    availability_zones: tuple[str, ...]
    ipv4_address_scope: str | None
    ipv6_address_scope: str | None
    segments: tuple[Segment, ...]
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime
    revision_number: int
    tags: tuple[str, ...]
    qos_policy_id: str | None = None
    is_default: bool = False
    #: False on a routed network (its subnets are bound to segments)
    l2_adjacency: bool = True
    dns_domain: str = ""

    @property
    def provider(self) -> Segment | None:
        """The single segment (the provider:* attributes); None with several segments."""
        if len(self.segments) > 1:
            return None
        return self.segments[0] if self.segments else Segment("local")


@dataclass(frozen=True, slots=True)
class SegmentRecord:
    """A network segment as ``/v2.0/segments`` shows it."""

    id: str
    network_id: str
    name: str | None
    description: str | None
    network_type: str
    physical_network: str | None
    segmentation_id: int | None
    segment_index: int
    created_at: dt.datetime
    updated_at: dt.datetime
    revision_number: int
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AddressScopeRecord:
    id: str
    name: str
    project_id: str
    ip_version: int
    #: shared with the caller's project (or every project)
    shared: bool
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime
    revision_number: int
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class QosRuleRecord:
    """A rule of a QoS policy; the attributes of other rule types are None."""

    id: str
    policy_id: str
    rule_type: str
    direction: str
    max_kbps: int | None = None
    max_burst_kbps: int | None = None
    dscp_mark: int | None = None
    min_kbps: int | None = None


@dataclass(frozen=True, slots=True)
class QosPolicyRecord:
    id: str
    name: str
    project_id: str
    #: shared with the caller's project (or every project)
    shared: bool
    is_default: bool
    rules: tuple[QosRuleRecord, ...]
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime
    revision_number: int
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PortForwardingRecord:
    id: str
    floatingip_id: str
    #: the floating IP's owner (the policy target's project)
    project_id: str
    internal_port_id: str
    internal_ip_address: str
    protocol: str
    internal_port_start: int
    internal_port_end: int
    external_port_start: int
    external_port_end: int
    description: str


@dataclass(frozen=True, slots=True)
class RbacPolicyRecord:
    id: str
    project_id: str
    object_type: str
    object_id: str
    action: str
    target_project: str


@dataclass(frozen=True, slots=True)
class AgentRecord:
    id: str
    agent_type: str
    binary: str
    host: str
    topic: str
    admin_state_up: bool
    alive: bool
    availability_zone: str | None
    configurations: dict[str, JSON]
    resource_versions: dict[str, JSON]
    description: str | None
    created_at: dt.datetime | None
    started_at: dt.datetime | None
    heartbeat_timestamp: dt.datetime | None


@dataclass(frozen=True, slots=True)
class AvailabilityZoneRecord:
    name: str
    #: network or router
    resource: str
    #: available or unavailable
    state: str


@dataclass(frozen=True, slots=True)
class SubnetIpAvailability:
    subnet_id: str
    subnet_name: str
    cidr: str
    ip_version: int
    total_ips: int
    used_ips: int


@dataclass(frozen=True, slots=True)
class NetworkIpAvailabilityRecord:
    network_id: str
    network_name: str
    project_id: str
    subnets: tuple[SubnetIpAvailability, ...]

    @property
    def total_ips(self) -> int:
        return sum(s.total_ips for s in self.subnets)

    @property
    def used_ips(self) -> int:
        return sum(s.used_ips for s in self.subnets)


@dataclass(frozen=True, slots=True)
class QuotaRecord:
    """A project's limits (resource -> limit, -1: unlimited)."""

    project_id: str
    limits: dict[str, int]


@dataclass(frozen=True, slots=True)
class QuotaUsage:
    limit: int
    used: int
    reserved: int = 0


@dataclass(frozen=True, slots=True)
class SecurityGroupRuleRecord:
    id: str
    security_group_id: str
    project_id: str
    direction: str
    ethertype: str
    protocol: str | None
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefix: str | None
    normalized_cidr: str | None
    remote_group_id: str | None
    belongs_to_default_sg: bool
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime
    revision_number: int
    #: the owner of the rule's group (policy: ``security_group:project_id``)
    group_project_id: str | None


@dataclass(frozen=True, slots=True)
class SecurityGroupRecord:
    id: str
    name: str
    project_id: str
    stateful: bool
    #: shared with the caller's project (or every project)
    shared: bool
    rules: tuple[SecurityGroupRuleRecord, ...]
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime
    revision_number: int
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SubnetPoolRecord:
    id: str
    name: str
    project_id: str
    ip_version: int
    prefixes: tuple[str, ...]
    default_prefixlen: int
    min_prefixlen: int
    max_prefixlen: int
    default_quota: int | None
    is_default: bool
    #: shared with the caller's project (or every project)
    shared: bool
    address_scope_id: str | None
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime
    revision_number: int
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AllocationPool:
    start: str
    end: str


@dataclass(frozen=True, slots=True)
class HostRoute:
    destination: str
    nexthop: str


@dataclass(frozen=True, slots=True)
class SubnetRecord:
    id: str
    name: str
    project_id: str
    network_id: str
    ip_version: int
    cidr: str
    gateway_ip: str | None
    allocation_pools: tuple[AllocationPool, ...]
    dns_nameservers: tuple[str, ...]
    host_routes: tuple[HostRoute, ...]
    enable_dhcp: bool
    ipv6_ra_mode: str | None
    ipv6_address_mode: str | None
    subnetpool_id: str | None
    service_types: tuple[str, ...]
    #: the network is external (router:external)
    external: bool
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime
    revision_number: int
    tags: tuple[str, ...]
    #: the network's owner and whether it is shared with the caller (policy targets)
    network_project_id: str | None
    network_shared: bool
    #: the segment of a routed network the subnet is on
    segment_id: str | None = None


@dataclass(frozen=True, slots=True)
class FixedIpRecord:
    subnet_id: str
    ip_address: str


@dataclass(frozen=True, slots=True)
class RouterGateway:
    network_id: str | None
    enable_snat: bool
    external_fixed_ips: tuple[FixedIpRecord, ...]


@dataclass(frozen=True, slots=True)
class RouterRecord:
    id: str
    name: str
    project_id: str
    admin_state_up: bool
    status: str
    gateway: RouterGateway | None
    routes: tuple[HostRoute, ...]
    availability_zone_hints: tuple[str, ...]
    availability_zones: tuple[str, ...]
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime
    revision_number: int
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RouterInterfaceRecord:
    """A router's interface as add/remove_router_interface answer."""

    router_id: str
    project_id: str
    port_id: str
    network_id: str
    subnet_ids: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FloatingIPPortDetails:
    name: str
    network_id: str
    mac_address: str
    admin_state_up: bool
    status: str
    device_id: str
    device_owner: str


@dataclass(frozen=True, slots=True)
class FloatingIPRecord:
    id: str
    project_id: str
    floating_network_id: str
    floating_ip_address: str
    router_id: str | None
    port_id: str | None
    fixed_ip_address: str | None
    status: str
    port_details: FloatingIPPortDetails | None
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime
    revision_number: int
    tags: tuple[str, ...]
    #: its port forwardings (``expose-port-forwarding-in-fip``)
    port_forwardings: tuple[PortForwardingRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class AddressPair:
    ip_address: str
    mac_address: str


@dataclass(frozen=True, slots=True)
class DhcpOption:
    opt_name: str
    opt_value: JSON
    ip_version: int


@dataclass(frozen=True, slots=True)
class DnsAssignment:
    """The name dnsmasq gives one fixed IP of a port (``dns_assignment``)."""

    hostname: str
    ip_address: str
    fqdn: str


@dataclass(frozen=True, slots=True)
class PortRecord:
    id: str
    name: str
    network_id: str
    project_id: str
    mac_address: str
    admin_state_up: bool
    status: str
    device_id: str
    device_owner: str
    fixed_ips: tuple[FixedIpRecord, ...]
    security_groups: tuple[str, ...]
    allowed_address_pairs: tuple[AddressPair, ...]
    extra_dhcp_opts: tuple[DhcpOption, ...]
    port_security_enabled: bool
    host_id: str
    vif_type: str
    vif_details: dict[str, JSON]
    vnic_type: str
    profile: dict[str, JSON]
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime
    revision_number: int
    tags: tuple[str, ...]
    #: the network's owner and whether it is shared with the caller (policy targets)
    network_project_id: str | None
    network_shared: bool
    qos_policy_id: str | None = None
    #: the policy the port's network gives it when it has none of its own
    qos_network_policy_id: str | None = None
    dns_name: str = ""
    dns_domain: str = ""
    dns_assignment: tuple[DnsAssignment, ...] = ()


@dataclass(frozen=True, slots=True)
class FirewallRuleRecord:
    id: str
    project_id: str
    name: str
    description: str
    shared: bool
    protocol: str | None
    ip_version: int
    source_ip_address: str | None
    destination_ip_address: str | None
    #: ``"80"`` or ``"1000:2000"``; None: any port
    source_port: str | None
    destination_port: str | None
    action: str
    enabled: bool
    #: the policies the rule is in
    firewall_policy_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FirewallPolicyRecord:
    id: str
    project_id: str
    name: str
    description: str
    shared: bool
    audited: bool
    #: rule ids in order (first match wins)
    firewall_rules: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FirewallGroupRecord:
    id: str
    project_id: str
    name: str
    description: str
    shared: bool
    admin_state_up: bool
    status: str
    ingress_firewall_policy_id: str | None
    egress_firewall_policy_id: str | None
    ports: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MeteringLabelRecord:
    id: str
    project_id: str
    name: str
    description: str
    shared: bool


@dataclass(frozen=True, slots=True)
class MeteringLabelRuleRecord:
    id: str
    project_id: str
    metering_label_id: str
    direction: str
    remote_ip_prefix: str | None
    source_ip_prefix: str | None
    destination_ip_prefix: str | None
    excluded: bool
