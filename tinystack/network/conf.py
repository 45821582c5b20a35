"""Options of the ``[network]`` section of tinystack.conf.

Type driver ranges use upstream ML2's syntax: ``network_vlan_ranges`` entries are
``physnet`` (provider networks only) or ``physnet:min:max``; ``vni_ranges``
entries are ``min:max``; ``flat_networks`` lists physical networks (``*`` for
any). Quotas are per project, ``-1`` meaning unlimited.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from oslo_config import cfg

from tinystack.common.rpc import versions

GROUP = "network"

TYPE_OPTS = [
    cfg.ListOpt(
        "type_drivers",
        default=["flat", "vlan", "vxlan", "local"],
        help="Network types that may be created.",
    ),
    cfg.ListOpt(
        "tenant_network_types",
        default=["vxlan", "local"],
        help="Types tried in order for networks created without provider attributes.",
    ),
    cfg.ListOpt(
        "flat_networks",
        default=["public"],
        help="Physical networks on which flat networks may be created ('*': any).",
    ),
    cfg.ListOpt(
        "network_vlan_ranges",
        default=["physnet1:1000:1999"],
        help="physnet[:min_vlan:max_vlan] entries; ranges are used for tenant networks.",
    ),
    cfg.ListOpt("vni_ranges", default=["1:1000"], help="min:max VXLAN VNI ranges."),
    cfg.IntOpt("global_physnet_mtu", default=1500, min=68, help="MTU of the underlay."),
    cfg.ListOpt(
        "physical_network_mtus",
        default=[],
        help="physnet:mtu entries overriding global_physnet_mtu per physical network.",
    ),
]

PORT_OPTS = [
    cfg.StrOpt("base_mac", default="fa:16:3e:00:00:00", help="Prefix of generated MACs."),
    cfg.IntOpt("max_fixed_ips_per_port", default=5, min=1, help="Fixed IPs per port."),
    cfg.IntOpt("max_dns_nameservers", default=5, min=0, help="DNS servers per subnet."),
    cfg.IntOpt("max_subnet_host_routes", default=20, min=0, help="Host routes per subnet."),
    cfg.IntOpt("max_routes", default=30, min=0, help="Static routes per router."),
    cfg.BoolOpt(
        "require_agent_for_binding",
        default=False,
        help="Fail port binding on hosts without a live L2 agent (off: bind as linuxbridge).",
    ),
    cfg.IntOpt("agent_down_time", default=75, min=1, help="Seconds before an agent is dead."),
    cfg.ListOpt(
        "default_availability_zones",
        default=["nova"],
        help="Availability zones always offered for networks and routers.",
    ),
    cfg.BoolOpt("enable_snat_by_default", default=True, help="Default of enable_snat."),
    cfg.IntOpt(
        "pagination_max_limit", default=-1, help="Largest page size of lists (-1: unlimited)."
    ),
    cfg.FloatOpt(
        "send_events_interval",
        default=2.0,
        min=0,
        help="Seconds compute notifications are batched for.",
    ),
    cfg.BoolOpt(
        "notify_compute_on_port_status_changes",
        default=True,
        help="Send network-vif-plugged/unplugged events to compute.",
    ),
]

QUOTA_DEFAULTS = {
    "network": 100,
    "subnet": 100,
    "subnetpool": -1,
    "port": 500,
    "router": 10,
    "floatingip": 50,
    "security_group": 10,
    "security_group_rule": 100,
    "rbac_policy": 10,
}

QUOTA_OPTS = [
    cfg.IntOpt(f"quota_{name}", default=value, min=-1, help=f"Default quota of {name}s.")
    for name, value in QUOTA_DEFAULTS.items()
]

BOOTSTRAP_OPTS = [
    cfg.BoolOpt(
        "bootstrap_networks", default=True, help="Create public/private networks on first start."
    ),
    cfg.StrOpt("public_network", default="public", help="Name of the external network."),
    cfg.StrOpt(
        "public_physical_network",
        default="public",
        help="Physical network of the (flat) external network.",
    ),
    cfg.StrOpt("public_cidr", default="172.24.4.0/24", help="CIDR of the external subnet."),
    cfg.StrOpt("public_gateway", default="172.24.4.1", help="Gateway of the external subnet."),
    cfg.StrOpt(
        "floating_range",
        default="172.24.4.2-172.24.4.254",
        help="start-end of the external subnet's allocation pool (floating IPs).",
    ),
    cfg.StrOpt("private_network", default="private", help="Name of the demo network."),
    cfg.StrOpt("private_cidr", default="10.0.0.0/26", help="CIDR of the demo subnet."),
    cfg.StrOpt("router_name", default="router1", help="Name of the demo router."),
    cfg.StrOpt("admin_project", default="admin", help="Project owning the external network."),
    cfg.StrOpt("demo_project", default="demo", help="Project owning the demo network."),
]

DATAPLANE_OPTS = [
    cfg.StrOpt(
        "dataplane",
        default="auto",
        choices=["auto", "linux", "none"],
        help="Data plane agents run by the network service: linux (bridges, dnsmasq, router "
        "namespaces, iptables; needs root), none (API only), auto (linux in `tinystack "
        "up`/`serve` as root with ip, bridge and iptables-restore present).",
    ),
    cfg.ListOpt(
        "dataplane_agents",
        default=["l2", "dhcp", "l3", "metadata"],
        help="Which Linux agents run when dataplane is linux.",
    ),
    cfg.StrOpt("host", default="", help="This host's name for agents (default: hostname)."),
    cfg.StrOpt(
        "host_namespace",
        default="",
        help="Run this host's data plane inside this network namespace (tests, simulated "
        "hosts); empty: the root namespace.",
    ),
    cfg.ListOpt(
        "bridge_mappings",
        default=["public:br-ex-ts"],
        help="physnet:bridge entries: Linux bridges standing for physical networks (created "
        "without any physical interface when missing); networks reach them through a veth.",
    ),
    cfg.ListOpt(
        "physical_interface_mappings",
        default=[],
        help="physnet:interface entries: existing interfaces carrying physical networks.",
    ),
    cfg.StrOpt("local_ip", default="", help="Local VTEP address for VXLAN (empty: one host)."),
    cfg.PortOpt("vxlan_udp_port", default=4789, help="UDP port of VXLAN."),
    cfg.StrOpt("router_namespace_prefix", default="qrouter-", help="Router namespace prefix."),
    cfg.StrOpt("dhcp_namespace_prefix", default="qdhcp-", help="DHCP namespace prefix."),
    cfg.StrOpt(
        "firewall_chain_prefix",
        default="",
        regex=r"^([A-Za-z][A-Za-z0-9]{0,7})?$",
        help="Prefix of the iptables chains of security groups, one per cloud (empty: TS "
        "and 4 hex digits derived from the state directory).",
    ),
    cfg.FloatOpt("report_interval", default=30.0, min=1, help="Agent heartbeat seconds."),
    cfg.FloatOpt(
        "resync_interval", default=60.0, min=1, help="Seconds between full agent resyncs."
    ),
    cfg.FloatOpt(
        "metering_report_interval",
        default=300.0,
        min=1,
        help="Seconds between the L3 agent's l3.meter notifications of metering label counters.",
    ),
    cfg.IntOpt("dhcp_lease_duration", default=86400, min=120, help="DHCP lease seconds."),
    cfg.StrOpt(
        "dns_domain",
        default="openstacklocal",
        help="Domain of the ports' DNS names (dnsmasq's, and the FQDNs of dns_assignment). "
        "With the default, as upstream, ports keep no dns_name (dns-integration).",
    ),
    cfg.ListOpt(
        "dnsmasq_dns_servers",
        default=[],
        help="DNS servers the networks' dnsmasq forwards the queries for other names to "
        "(dnsmasq is the DNS server of subnets without dns_nameservers).",
    ),
    cfg.BoolOpt(
        "enable_isolated_metadata",
        default=False,
        help="Offer 169.254.169.254 through the DHCP namespace on networks without router.",
    ),
    cfg.StrOpt(
        "metadata_proxy_shared_secret",
        default="",
        secret=True,
        help="Key of the HMAC-SHA256 X-Instance-ID-Signature sent to compute metadata; "
        "a deployment generates one (secrets.json, shared with [compute]) when unset.",
    ),
    cfg.StrOpt(
        "nova_metadata_url",
        default="",
        help="Compute metadata API URL (default: http://<public host>:<[compute] "
        "metadata_listen_port, else 8775>).",
    ),
    cfg.PortOpt("metadata_port", default=9697, help="Proxy port inside router namespaces."),
    cfg.StrOpt(
        "public_bridge_address",
        default="",
        help="CIDR put on the public physnet's bridge in the host (off: the host is not on "
        "the public network).",
    ),
    cfg.StrOpt(
        "public_nat_interface",
        default="",
        help="Masquerade public_bridge_address's network out of this uplink and enable IP "
        "forwarding (off by default; never in tests).",
    ),
    cfg.BoolOpt(
        "dataplane_cleanup_on_stop",
        default=True,
        help="Remove bridges, namespaces, dnsmasq and rules when the service stops (off: "
        "keep them, as upstream agents do; the agents adopt them on the next start).",
    ),
]

OPTS = [*TYPE_OPTS, *PORT_OPTS, *QUOTA_OPTS, *BOOTSTRAP_OPTS, *DATAPLANE_OPTS]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)
    versions.register_opts(conf, UPGRADE_LEVELS)


#: ``[upgrade_levels]`` of the casts to network agents
UPGRADE_LEVELS = {"l2_agent": "L2 agents", "dhcp_agent": "DHCP agents", "l3_agent": "L3 agents"}


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, OPTS), (versions.GROUP, versions.opts(UPGRADE_LEVELS))]


@dataclass(frozen=True, slots=True)
class Options:
    """The ``[network]`` options, typed; list options are tuples."""

    type_drivers: tuple[str, ...]
    tenant_network_types: tuple[str, ...]
    flat_networks: tuple[str, ...]
    network_vlan_ranges: tuple[str, ...]
    vni_ranges: tuple[str, ...]
    global_physnet_mtu: int
    physical_network_mtus: tuple[str, ...]
    base_mac: str
    max_fixed_ips_per_port: int
    max_dns_nameservers: int
    max_subnet_host_routes: int
    max_routes: int
    require_agent_for_binding: bool
    agent_down_time: int
    default_availability_zones: tuple[str, ...]
    enable_snat_by_default: bool
    pagination_max_limit: int
    send_events_interval: float
    notify_compute_on_port_status_changes: bool
    quota_network: int
    quota_subnet: int
    quota_subnetpool: int
    quota_port: int
    quota_router: int
    quota_floatingip: int
    quota_security_group: int
    quota_security_group_rule: int
    quota_rbac_policy: int
    bootstrap_networks: bool
    public_network: str
    public_physical_network: str
    public_cidr: str
    public_gateway: str
    floating_range: str
    private_network: str
    private_cidr: str
    router_name: str
    admin_project: str
    demo_project: str
    dataplane: str
    dataplane_agents: tuple[str, ...]
    host: str
    host_namespace: str
    bridge_mappings: tuple[str, ...]
    physical_interface_mappings: tuple[str, ...]
    local_ip: str
    vxlan_udp_port: int
    router_namespace_prefix: str
    dhcp_namespace_prefix: str
    firewall_chain_prefix: str
    report_interval: float
    resync_interval: float
    metering_report_interval: float
    dhcp_lease_duration: int
    dns_domain: str
    dnsmasq_dns_servers: tuple[str, ...]
    enable_isolated_metadata: bool
    metadata_proxy_shared_secret: str
    nova_metadata_url: str
    metadata_port: int
    public_bridge_address: str
    public_nat_interface: str
    dataplane_cleanup_on_stop: bool

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Options:
        group = conf[GROUP]
        values: dict[str, Any] = {}
        for item in fields(cls):
            value = group[item.name]
            values[item.name] = tuple(value) if isinstance(value, list) else value
        return cls(**values)

    def quota(self, resource: str) -> int:
        """The default quota of ``resource`` (``quota_<resource>``)."""
        value: int = getattr(self, f"quota_{resource}")
        return value
