"""What travels between the network service and its agents (:mod:`tinystack.network.rpcapi`).

Frozen, versioned :class:`~tinystack.common.rpc.payload.Payload` dataclasses, each
holding what an agent uses of a resource (not the API's rendering of it):

* L2 agent: :class:`DeviceDetails` (a tap's port and its network segment),
  :class:`DeviceStatus`, :class:`SecurityGroupInfo` (the firewall's ports, their groups'
  rules, remote groups' member addresses), :class:`TunnelSync`;
* DHCP agent: :class:`NetworkInfo` (a network with its subnets and ports),
  :class:`DhcpPortRequest`, :class:`PortInfo`;
* L3 agent: :class:`RouterInfo` (interfaces and gateway with their subnets, extra
  routes, floating IPs, firewall groups, metering labels), :class:`FloatingIPStatuses`;
* every agent: :class:`AgentState` (its heartbeat); casts carry :class:`PortChange`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from tinystack.common.rpc.payload import JSON, Payload, since

# -- shared parts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixedIP(Payload):
    VERSION: ClassVar[str] = "1.0"
    subnet_id: str
    ip_address: str


@dataclass(frozen=True)
class AddressPair(Payload):
    """An allowed address pair: an address (or CIDR) and the MAC it may come from."""

    VERSION: ClassVar[str] = "1.0"
    ip_address: str
    mac_address: str | None = None


@dataclass(frozen=True)
class Route(Payload):
    """A subnet's host route or a router's extra route."""

    VERSION: ClassVar[str] = "1.0"
    destination: str
    nexthop: str


@dataclass(frozen=True)
class Subnet(Payload):
    VERSION: ClassVar[str] = "1.0"
    id: str
    network_id: str
    cidr: str
    ip_version: int
    gateway_ip: str | None = None
    enable_dhcp: bool = True
    ipv6_ra_mode: str | None = None
    ipv6_address_mode: str | None = None
    dns_nameservers: tuple[str, ...] = ()
    host_routes: tuple[Route, ...] = ()


@dataclass(frozen=True)
class ExtraDhcpOpt(Payload):
    VERSION: ClassVar[str] = "1.0"
    opt_name: str
    opt_value: str | None = None
    ip_version: int = 4


@dataclass(frozen=True)
class DnsName(Payload):
    """The name of one fixed IP of a port (its ``dns_assignment`` entry)."""

    VERSION: ClassVar[str] = "1.0"
    ip_address: str
    hostname: str
    fqdn: str


@dataclass(frozen=True)
class PortInfo(Payload):
    """A port as the DHCP and metadata agents see it.

    1.1: ``dns_assignment`` (an older agent names every address ``host-<address>``)."""

    VERSION: ClassVar[str] = "1.1"
    id: str
    network_id: str
    project_id: str
    mac_address: str
    device_owner: str = ""
    device_id: str = ""
    name: str = ""
    status: str = ""
    admin_state_up: bool = True
    fixed_ips: tuple[FixedIP, ...] = ()
    extra_dhcp_opts: tuple[ExtraDhcpOpt, ...] = ()
    dns_assignment: tuple[DnsName, ...] = field(default=(), metadata=since("1.1"))


@dataclass(frozen=True)
class PortChange(Payload):
    """A port that was created or updated (``port_update`` casts)."""

    VERSION: ClassVar[str] = "1.0"
    id: str
    network_id: str
    security_groups: tuple[str, ...] = ()


# -- L2 -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QosLimits(Payload):
    """A port's effective QoS rules as the data plane applies them (0 / None: none).

    Directions are the guest's: ``egress`` leaves the guest (it enters the host's tap),
    ``ingress`` reaches the guest."""

    VERSION: ClassVar[str] = "1.0"
    policy_id: str = ""
    egress_kbps: int = 0
    egress_burst_kbps: int = 0
    ingress_kbps: int = 0
    ingress_burst_kbps: int = 0
    dscp_mark: int | None = None


@dataclass(frozen=True)
class DeviceDetails(Payload):
    """A device (tap name, port id or MAC) and, when it is a known port, how to wire it.

    1.1: ``qos``."""

    VERSION: ClassVar[str] = "1.1"
    device: str
    port_id: str = ""  # empty: no such port
    network_id: str = ""
    mac_address: str = ""
    admin_state_up: bool = True
    status: str = ""
    network_type: str = "local"
    physical_network: str | None = None
    segmentation_id: int | None = None
    mtu: int | None = None
    fixed_ips: tuple[FixedIP, ...] = ()
    device_owner: str = ""
    device_id: str = ""
    allowed_address_pairs: tuple[AddressPair, ...] = ()
    port_security_enabled: bool = True
    security_groups: tuple[str, ...] = ()
    host: str | None = None
    vif_type: str | None = None
    vif_details: JSON = None
    profile: JSON = None
    bridge_name: str = ""
    qos: QosLimits = field(default_factory=QosLimits)

    @property
    def exists(self) -> bool:
        return bool(self.port_id)


@dataclass(frozen=True)
class DeviceStatus(Payload):
    """The answer to ``update_device_up``/``update_device_down``."""

    VERSION: ClassVar[str] = "1.0"
    device: str
    exists: bool
    port_id: str = ""


@dataclass(frozen=True)
class SecurityGroupRule(Payload):
    VERSION: ClassVar[str] = "1.0"
    id: str
    security_group_id: str
    direction: str
    ethertype: str = "IPv4"
    protocol: str | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None
    stateful: bool = True


@dataclass(frozen=True)
class GroupMembers(Payload):
    """The addresses of a remote group's member ports, per ethertype."""

    VERSION: ClassVar[str] = "1.0"
    ipv4: tuple[str, ...] = ()
    ipv6: tuple[str, ...] = ()

    def of(self, ethertype: str) -> tuple[str, ...]:
        return self.ipv6 if ethertype == "IPv6" else self.ipv4


@dataclass(frozen=True)
class FirewallPort(Payload):
    """A port as the firewall sees it."""

    VERSION: ClassVar[str] = "1.0"
    device: str
    port_id: str
    network_id: str
    mac_address: str
    fixed_ips: tuple[str, ...] = ()  # addresses
    allowed_address_pairs: tuple[AddressPair, ...] = ()
    port_security_enabled: bool = True
    security_groups: tuple[str, ...] = ()
    device_owner: str = ""
    #: False when the port's groups are stateless (a port's groups never mix)
    stateful: bool = True


@dataclass(frozen=True)
class SecurityGroupInfo(Payload):
    """Ports by id, the rules of their groups by group and remote groups' members."""

    VERSION: ClassVar[str] = "1.0"
    devices: dict[str, FirewallPort] = field(default_factory=dict)
    security_groups: dict[str, tuple[SecurityGroupRule, ...]] = field(default_factory=dict)
    sg_member_ips: dict[str, GroupMembers] = field(default_factory=dict)


@dataclass(frozen=True)
class PortRules(Payload):
    """A port with its groups' rules, remote groups expanded into addresses."""

    VERSION: ClassVar[str] = "1.0"
    port: FirewallPort
    security_group_rules: tuple[SecurityGroupRule, ...] = ()


@dataclass(frozen=True)
class DeviceRules(Payload):
    VERSION: ClassVar[str] = "1.0"
    devices: dict[str, PortRules] = field(default_factory=dict)


@dataclass(frozen=True)
class Tunnel(Payload):
    """A VTEP: the tunnel address of an L2 agent and its host."""

    VERSION: ClassVar[str] = "1.0"
    ip_address: str
    host: str | None = None


@dataclass(frozen=True)
class TunnelSync(Payload):
    VERSION: ClassVar[str] = "1.0"
    tunnels: tuple[Tunnel, ...] = ()


# -- DHCP -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkInfo(Payload):
    """A network with a DHCP-enabled subnet: all its subnets and ports."""

    VERSION: ClassVar[str] = "1.0"
    id: str
    admin_state_up: bool = True
    mtu: int | None = None
    subnets: tuple[Subnet, ...] = ()
    ports: tuple[PortInfo, ...] = ()


@dataclass(frozen=True)
class DhcpPortRequest(Payload):
    """The DHCP port a DHCP agent wants on a network (an address on ``subnet_ids``)."""

    VERSION: ClassVar[str] = "1.0"
    network_id: str
    device_id: str
    name: str = ""
    subnet_ids: tuple[str, ...] | None = None  # None: the service's default allocation


# -- L3 -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouterPort(Payload):
    """A router's interface or gateway port with its subnets and its network's MTU."""

    VERSION: ClassVar[str] = "1.0"
    id: str
    network_id: str
    mac_address: str
    device_owner: str = ""
    fixed_ips: tuple[FixedIP, ...] = ()
    subnets: tuple[Subnet, ...] = ()
    mtu: int | None = None


@dataclass(frozen=True)
class FloatingIP(Payload):
    VERSION: ClassVar[str] = "1.0"
    id: str
    floating_ip_address: str
    floating_network_id: str = ""
    project_id: str = ""
    fixed_ip_address: str | None = None
    port_id: str | None = None
    router_id: str | None = None
    status: str = "DOWN"


@dataclass(frozen=True)
class Forwarding(Payload):
    """A floating IP's port forwarding as the router's DNAT applies it."""

    VERSION: ClassVar[str] = "1.0"
    floating_ip_address: str
    protocol: str
    external_port_start: int
    external_port_end: int
    internal_ip_address: str
    internal_port_start: int
    internal_port_end: int


@dataclass(frozen=True)
class FirewallMatch(Payload):
    """An enabled FWaaS rule as the router's firewall applies it (ports ``a`` or ``a:b``)."""

    VERSION: ClassVar[str] = "1.0"
    action: str
    ip_version: int = 4
    protocol: str | None = None
    source_ip_address: str | None = None
    destination_ip_address: str | None = None
    source_port: str | None = None
    destination_port: str | None = None


@dataclass(frozen=True)
class RouterPortFirewall(Payload):
    """The firewall group on one of the router's interfaces: its ingress (into the
    port's network) and egress rules in order; no policy is no rules (all dropped)."""

    VERSION: ClassVar[str] = "1.0"
    port_id: str
    group_id: str
    status: str
    admin_state_up: bool = True
    ingress: tuple[FirewallMatch, ...] = ()
    egress: tuple[FirewallMatch, ...] = ()


@dataclass(frozen=True)
class MeteringRule(Payload):
    """A metering label rule as the router's gateway counts it."""

    VERSION: ClassVar[str] = "1.0"
    id: str
    direction: str
    remote_ip_prefix: str | None = None
    source_ip_prefix: str | None = None
    destination_ip_prefix: str | None = None
    excluded: bool = False


@dataclass(frozen=True)
class MeteringLabel(Payload):
    """A metering label that applies to the router (its project's, or shared)."""

    VERSION: ClassVar[str] = "1.0"
    id: str
    project_id: str
    rules: tuple[MeteringRule, ...] = ()


@dataclass(frozen=True)
class FirewallGroupStatuses(Payload):
    """What the L3 agent applied, by firewall group id (ACTIVE or DOWN)."""

    VERSION: ClassVar[str] = "1.0"
    statuses: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RouterInfo(Payload):
    """1.1: ``port_forwardings``; 1.2: ``firewalls``; 1.3: ``metering_labels``."""

    VERSION: ClassVar[str] = "1.3"
    id: str
    admin_state_up: bool = True
    enable_snat: bool = True
    routes: tuple[Route, ...] = ()
    interfaces: tuple[RouterPort, ...] = ()
    gw_port: RouterPort | None = None
    floatingips: tuple[FloatingIP, ...] = ()
    port_forwardings: tuple[Forwarding, ...] = ()
    firewalls: tuple[RouterPortFirewall, ...] = field(default=(), metadata=since("1.2"))
    metering_labels: tuple[MeteringLabel, ...] = field(default=(), metadata=since("1.3"))


@dataclass(frozen=True)
class FloatingIPStatuses(Payload):
    """New statuses of a router's floating IPs, by floating IP id."""

    VERSION: ClassVar[str] = "1.0"
    statuses: dict[str, str] = field(default_factory=dict)


# -- heartbeats -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentState(Payload):
    """An agent's heartbeat (``start_flag``: the first one after it started).

    1.1: ``resource_versions``, what the agent runs: ``rpc`` its RPC version, then the
    version of each payload it reads (Neutron's agents report their objects' versions)."""

    VERSION: ClassVar[str] = "1.1"
    agent_type: str
    binary: str
    host: str
    topic: str
    configurations: dict[str, JSON] = field(default_factory=dict)
    start_flag: bool = False
    availability_zone: str | None = None
    resource_versions: dict[str, str] = field(default_factory=dict, metadata=since("1.1"))
