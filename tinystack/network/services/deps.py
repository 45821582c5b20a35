"""``Deps``: the network service's one dependency bundle, built once per runtime.

It holds the collaborators (database, typed options, type drivers, port binder,
event sink, caches) and the per-resource service objects built over them; the API
(``api/deps.py``), the agent RPC endpoints and the bootstrap all go through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tinystack.common.db import Database
from tinystack.common.notifier import Notifier
from tinystack.network.conf import Options
from tinystack.network.plugins.binding import PortBinder
from tinystack.network.plugins.manager import TypeManager
from tinystack.network.services.address_scopes import AddressScopes
from tinystack.network.services.agents import Agents
from tinystack.network.services.auto_allocated_topology import AutoAllocatedTopologies
from tinystack.network.services.events import EventSink, NullEvents
from tinystack.network.services.firewall_groups import FirewallGroups
from tinystack.network.services.firewall_policies import FirewallPolicies
from tinystack.network.services.firewall_rules import FirewallRules
from tinystack.network.services.floatingips import FloatingIPs
from tinystack.network.services.metering_label_rules import MeteringLabelRules
from tinystack.network.services.metering_labels import MeteringLabels
from tinystack.network.services.network_ip_availability import NetworkIpAvailability
from tinystack.network.services.networks import Networks
from tinystack.network.services.port_forwardings import PortForwardings
from tinystack.network.services.ports import Ports
from tinystack.network.services.qos_policies import QosPolicies
from tinystack.network.services.qos_rules import QosRules
from tinystack.network.services.quotas import Quotas
from tinystack.network.services.rbac_policies import RbacPolicies
from tinystack.network.services.router_interfaces import RouterInterfaces
from tinystack.network.services.routers import Routers
from tinystack.network.services.security_group_rules import SecurityGroupRules
from tinystack.network.services.security_groups import SecurityGroups
from tinystack.network.services.segments import Segments
from tinystack.network.services.subnetpools import SubnetPools
from tinystack.network.services.subnets import Subnets
from tinystack.network.services.tags import Tags


@dataclass(eq=False)
class Deps:
    """Collaborators plus the resource services (each holds this bundle)."""

    db: Database
    opts: Options
    types: TypeManager
    binder: PortBinder
    events: EventSink = field(default_factory=NullEvents)
    #: notifications (``port.create.end``): disabled until the service starts its transport
    notifier: Notifier = field(default_factory=lambda: Notifier.disabled("network"))
    #: projects whose default security group is known to exist
    default_groups: set[str] = field(default_factory=set)

    networks: Networks = field(init=False, repr=False)
    subnets: Subnets = field(init=False, repr=False)
    subnetpools: SubnetPools = field(init=False, repr=False)
    address_scopes: AddressScopes = field(init=False, repr=False)
    ports: Ports = field(init=False, repr=False)
    routers: Routers = field(init=False, repr=False)
    router_interfaces: RouterInterfaces = field(init=False, repr=False)
    floatingips: FloatingIPs = field(init=False, repr=False)
    security_groups: SecurityGroups = field(init=False, repr=False)
    security_group_rules: SecurityGroupRules = field(init=False, repr=False)
    quotas: Quotas = field(init=False, repr=False)
    rbac_policies: RbacPolicies = field(init=False, repr=False)
    network_ip_availability: NetworkIpAvailability = field(init=False, repr=False)
    agents: Agents = field(init=False, repr=False)
    tags: Tags = field(init=False, repr=False)
    qos_policies: QosPolicies = field(init=False, repr=False)
    qos_rules: QosRules = field(init=False, repr=False)
    port_forwardings: PortForwardings = field(init=False, repr=False)
    firewall_rules: FirewallRules = field(init=False, repr=False)
    firewall_policies: FirewallPolicies = field(init=False, repr=False)
    firewall_groups: FirewallGroups = field(init=False, repr=False)
    auto_allocated_topology: AutoAllocatedTopologies = field(init=False, repr=False)
    metering_labels: MeteringLabels = field(init=False, repr=False)
    metering_label_rules: MeteringLabelRules = field(init=False, repr=False)
    segments: Segments = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.networks = Networks(self)
        self.subnets = Subnets(self)
        self.subnetpools = SubnetPools(self)
        self.address_scopes = AddressScopes(self)
        self.ports = Ports(self)
        self.routers = Routers(self)
        self.router_interfaces = RouterInterfaces(self)
        self.floatingips = FloatingIPs(self)
        self.security_groups = SecurityGroups(self)
        self.security_group_rules = SecurityGroupRules(self)
        self.quotas = Quotas(self)
        self.rbac_policies = RbacPolicies(self)
        self.network_ip_availability = NetworkIpAvailability(self)
        self.agents = Agents(self)
        self.tags = Tags(self)
        self.qos_policies = QosPolicies(self)
        self.qos_rules = QosRules(self)
        self.port_forwardings = PortForwardings(self)
        self.firewall_rules = FirewallRules(self)
        self.firewall_policies = FirewallPolicies(self)
        self.firewall_groups = FirewallGroups(self)
        self.auto_allocated_topology = AutoAllocatedTopologies(self)
        self.metering_labels = MeteringLabels(self)
        self.metering_label_rules = MeteringLabelRules(self)
        self.segments = Segments(self)

    @classmethod
    def build(cls, db: Database, opts: Options) -> Deps:
        return cls(db=db, opts=opts, types=TypeManager(opts), binder=PortBinder(opts))
