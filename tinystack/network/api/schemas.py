"""Request models of every write route: strict, with upstream attribute names.

The handlers validate each item of Neutron's envelopes (``{"network": {...}}`` or, for
bulk creates, ``{"networks": [...]}``) with the item models; the ``*Request`` envelopes
are what ``/openapi.json`` shows as each route's body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from tinystack.network.exception import invalid_input
from tinystack.network.services import dns

#: integers the databases can store
Int = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
Name = Field(default=None, max_length=255)
Description = Field(default=None, max_length=255)


def _dns(reason_of: Callable[[str], str | None]) -> AfterValidator:
    """A DNS name or domain: lowercased, then checked (the reason is the 400's)."""

    def check(value: str) -> str:
        value = value.lower()
        reason = reason_of(value)
        if reason:
            raise PydanticCustomError("dns", "{reason}", {"reason": reason})
        return value

    return AfterValidator(check)


DnsName = Annotated[str, _dns(dns.format_error)]
DnsDomain = Annotated[str, _dns(dns.domain_error)]
FipDnsName = Annotated[str, _dns(dns.fip_name_error)]


class Body(BaseModel):
    """Unknown attributes are rejected, as upstream does."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False)


class Owned(Body):
    project_id: str | None = Field(default=None, max_length=255)
    tenant_id: str | None = Field(default=None, max_length=255)


def owner(values: dict[str, Any]) -> dict[str, Any]:
    """Fold ``tenant_id`` into ``project_id`` (they must agree when both are given)."""
    tenant = values.pop("tenant_id", None)
    if tenant is not None:
        if values.get("project_id") not in (None, tenant):
            raise invalid_input("'project_id' and 'tenant_id' do not match")
        values["project_id"] = tenant
    return values


class NetworkUpdate(Body):
    name: str | None = Name
    description: str | None = Description
    admin_state_up: bool | None = None
    shared: bool | None = None
    router_external: bool | None = Field(default=None, alias="router:external")
    mtu: Int | None = None
    port_security_enabled: bool | None = None
    network_type: str | None = Field(default=None, alias="provider:network_type")
    physical_network: str | None = Field(default=None, alias="provider:physical_network")
    segmentation_id: Int | None = Field(default=None, alias="provider:segmentation_id")
    segments: list[dict[str, Any]] | None = None
    qos_policy_id: str | None = None
    is_default: bool | None = None
    dns_domain: DnsDomain = ""


class NetworkCreate(Owned, NetworkUpdate):
    availability_zone_hints: list[str] | None = None
    tags: list[str] | None = None


class SubnetUpdate(Body):
    name: str | None = Name
    description: str | None = Description
    gateway_ip: str | None = None
    allocation_pools: list[Any] | None = None
    dns_nameservers: list[Any] | None = None
    host_routes: list[Any] | None = None
    enable_dhcp: bool | None = None
    service_types: list[str] | None = None
    segment_id: str | None = None


class SubnetCreate(Owned, SubnetUpdate):
    network_id: str
    ip_version: Int | None = None
    cidr: str | None = None
    ipv6_ra_mode: str | None = None
    ipv6_address_mode: str | None = None
    subnetpool_id: str | None = None
    use_default_subnet_pool: bool | None = None
    prefixlen: Int | None = None
    tags: list[str] | None = None


class SubnetPoolUpdate(Body):
    name: str | None = Name
    description: str | None = Description
    prefixes: list[str] | None = None
    default_prefixlen: Int | None = None
    min_prefixlen: Int | None = None
    max_prefixlen: Int | None = None
    default_quota: Int | None = None
    address_scope_id: str | None = None
    is_default: bool | None = None


class SubnetPoolCreate(Owned, SubnetPoolUpdate):
    prefixes: list[str]
    shared: bool | None = None
    tags: list[str] | None = None


class Prefixes(Body):
    prefixes: list[Any]


class AddressScopeUpdate(Body):
    name: str | None = Name
    description: str | None = Description
    shared: bool | None = None


class AddressScopeCreate(Owned, AddressScopeUpdate):
    ip_version: Int
    tags: list[str] | None = None


class QosPolicyUpdate(Body):
    name: str | None = Name
    description: str | None = Description
    shared: bool | None = None
    is_default: bool | None = None


class QosPolicyCreate(Owned, QosPolicyUpdate):
    tags: list[str] | None = None


class BandwidthLimitRule(Body):
    max_kbps: Int | None = None
    max_burst_kbps: Int | None = None
    direction: str | None = None


class DscpMarkingRule(Body):
    dscp_mark: Int | None = None


class MinimumBandwidthRule(Body):
    min_kbps: Int | None = None
    direction: str | None = None


class PortForwardingUpdate(Body):
    internal_port_id: str | None = None
    internal_ip_address: str | None = None
    protocol: str | None = None
    internal_port: Int | None = None
    external_port: Int | None = None
    internal_port_range: str | None = None
    external_port_range: str | None = None
    description: str | None = Description


class PortUpdate(Body):
    name: str | None = Name
    description: str | None = Description
    admin_state_up: bool | None = None
    mac_address: str | None = None
    fixed_ips: list[Any] | None = None
    device_id: str | None = Field(default=None, max_length=255)
    device_owner: str | None = Field(default=None, max_length=255)
    security_groups: list[str] | None = None
    allowed_address_pairs: list[Any] | None = None
    port_security_enabled: bool | None = None
    extra_dhcp_opts: list[Any] | None = None
    host_id: str | None = Field(default=None, alias="binding:host_id", max_length=255)
    vnic_type: str | None = Field(default=None, alias="binding:vnic_type")
    profile: dict[str, Any] | None = Field(default=None, alias="binding:profile")
    qos_policy_id: str | None = None
    dns_name: DnsName = ""
    dns_domain: DnsDomain = ""


class PortCreate(Owned, PortUpdate):
    network_id: str
    tags: list[str] | None = None


class RouterUpdate(Body):
    name: str | None = Name
    description: str | None = Description
    admin_state_up: bool | None = None
    external_gateway_info: dict[str, Any] | None = None
    routes: list[Any] | None = None
    distributed: bool | None = None
    ha: bool | None = None


class RouterCreate(Owned, RouterUpdate):
    availability_zone_hints: list[str] | None = None
    tags: list[str] | None = None


class Interface(Body):
    subnet_id: str | None = None
    port_id: str | None = None


class Routes(Body):
    routes: list[Any]


class FloatingIPUpdate(Body):
    port_id: str | None = None
    fixed_ip_address: str | None = None
    description: str | None = Description


class FloatingIPCreate(Owned, FloatingIPUpdate):
    floating_network_id: str
    floating_ip_address: str | None = None
    subnet_id: str | None = None
    tags: list[str] | None = None
    #: accepted and checked, kept only for an external DNS service (see services/dns.py)
    dns_name: FipDnsName = ""
    dns_domain: DnsDomain = ""


class SecurityGroupUpdate(Body):
    name: str | None = Name
    description: str | None = Description
    stateful: bool | None = None


class SecurityGroupCreate(Owned, SecurityGroupUpdate):
    tags: list[str] | None = None


class RuleCreate(Owned):
    security_group_id: str
    direction: str | None = None
    ethertype: str | None = None
    protocol: Any = None
    port_range_min: Int | None = None
    port_range_max: Int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None
    description: str | None = Description


class RbacUpdate(Body):
    target_tenant: str | None = Field(default=None, max_length=255)
    target_project: str | None = Field(default=None, max_length=255)


class RbacCreate(Owned, RbacUpdate):
    object_type: str
    object_id: str
    action: str


class AgentUpdate(Body):
    admin_state_up: bool | None = None
    description: str | None = None


class QuotaUpdate(Body):
    network: Int | None = None
    subnet: Int | None = None
    subnetpool: Int | None = None
    port: Int | None = None
    router: Int | None = None
    floatingip: Int | None = None
    security_group: Int | None = None
    security_group_rule: Int | None = None
    rbac_policy: Int | None = None
    force: bool | None = None
    check_limit: bool | None = None


class TagsReplace(Body):
    tags: list[str]


# -- envelopes: the bodies /openapi.json shows --------------------------------------------


class NetworkCreateRequest(Body):
    network: NetworkCreate | None = None
    networks: list[NetworkCreate] | None = None


class NetworkUpdateRequest(Body):
    network: NetworkUpdate


class SubnetCreateRequest(Body):
    subnet: SubnetCreate | None = None
    subnets: list[SubnetCreate] | None = None


class SubnetUpdateRequest(Body):
    subnet: SubnetUpdate


class SubnetPoolCreateRequest(Body):
    subnetpool: SubnetPoolCreate


class SubnetPoolUpdateRequest(Body):
    subnetpool: SubnetPoolUpdate


class AddressScopeCreateRequest(Body):
    address_scope: AddressScopeCreate


class AddressScopeUpdateRequest(Body):
    address_scope: AddressScopeUpdate


class QosPolicyCreateRequest(Body):
    policy: QosPolicyCreate


class QosPolicyUpdateRequest(Body):
    policy: QosPolicyUpdate


class BandwidthLimitRuleRequest(Body):
    bandwidth_limit_rule: BandwidthLimitRule


class DscpMarkingRuleRequest(Body):
    dscp_marking_rule: DscpMarkingRule


class MinimumBandwidthRuleRequest(Body):
    minimum_bandwidth_rule: MinimumBandwidthRule


class PortForwardingRequest(Body):
    port_forwarding: PortForwardingUpdate


class PortCreateRequest(Body):
    port: PortCreate | None = None
    ports: list[PortCreate] | None = None


class PortUpdateRequest(Body):
    port: PortUpdate


class RouterCreateRequest(Body):
    router: RouterCreate


class RouterUpdateRequest(Body):
    router: RouterUpdate


class RoutesRequest(Body):
    router: Routes


class FloatingIPCreateRequest(Body):
    floatingip: FloatingIPCreate


class FloatingIPUpdateRequest(Body):
    floatingip: FloatingIPUpdate


class SecurityGroupCreateRequest(Body):
    security_group: SecurityGroupCreate


class SecurityGroupUpdateRequest(Body):
    security_group: SecurityGroupUpdate


class RuleCreateRequest(Body):
    security_group_rule: RuleCreate | None = None
    security_group_rules: list[RuleCreate] | None = None


class RbacCreateRequest(Body):
    rbac_policy: RbacCreate


class RbacUpdateRequest(Body):
    rbac_policy: RbacUpdate


class AgentUpdateRequest(Body):
    agent: AgentUpdate


class QuotaUpdateRequest(Body):
    quota: QuotaUpdate


class FirewallRuleUpdate(Body):
    name: str | None = Name
    description: str | None = Description
    shared: bool | None = None
    protocol: str | Int | None = None
    ip_version: Int | str | None = None
    source_ip_address: str | None = None
    destination_ip_address: str | None = None
    source_port: str | Int | None = None
    destination_port: str | Int | None = None
    action: str | None = None
    enabled: bool | None = None


class FirewallRuleCreate(Owned, FirewallRuleUpdate):
    pass


class FirewallPolicyUpdate(Body):
    name: str | None = Name
    description: str | None = Description
    shared: bool | None = None
    audited: bool | None = None
    firewall_rules: list[str] | None = None


class FirewallPolicyCreate(Owned, FirewallPolicyUpdate):
    pass


class FirewallGroupUpdate(Body):
    name: str | None = Name
    description: str | None = Description
    shared: bool | None = None
    admin_state_up: bool | None = None
    ingress_firewall_policy_id: str | None = None
    egress_firewall_policy_id: str | None = None
    ports: list[str] | None = None


class FirewallGroupCreate(Owned, FirewallGroupUpdate):
    pass


class FirewallRuleCreateRequest(Body):
    firewall_rule: FirewallRuleCreate


class FirewallRuleUpdateRequest(Body):
    firewall_rule: FirewallRuleUpdate


class FirewallPolicyCreateRequest(Body):
    firewall_policy: FirewallPolicyCreate


class FirewallPolicyUpdateRequest(Body):
    firewall_policy: FirewallPolicyUpdate


class FirewallGroupCreateRequest(Body):
    firewall_group: FirewallGroupCreate


class FirewallGroupUpdateRequest(Body):
    firewall_group: FirewallGroupUpdate


class MeteringLabelCreate(Owned):
    name: str | None = Name
    description: str | None = Field(default=None, max_length=1024)
    shared: bool | None = None


class MeteringLabelRuleCreate(Owned):
    metering_label_id: str
    direction: str
    remote_ip_prefix: str | None = None
    source_ip_prefix: str | None = None
    destination_ip_prefix: str | None = None
    excluded: bool | None = None


class MeteringLabelCreateRequest(Body):
    metering_label: MeteringLabelCreate


class MeteringLabelRuleCreateRequest(Body):
    metering_label_rule: MeteringLabelRuleCreate


class SegmentUpdate(Body):
    name: str | None = Name
    description: str | None = Description


class SegmentCreate(Owned, SegmentUpdate):
    network_id: str
    network_type: str = Field(max_length=32)
    physical_network: str | None = Field(default=None, max_length=64)
    segmentation_id: Int | None = None
    tags: list[str] | None = None


class SegmentCreateRequest(Body):
    segment: SegmentCreate


class SegmentUpdateRequest(Body):
    segment: SegmentUpdate


class FirewallRuleInsertion(BaseModel):
    """``insert_rule``/``remove_rule``: not enveloped; unknown keys ignored (upstream)."""

    firewall_rule_id: str | None = None
    insert_before: str | None = None
    insert_after: str | None = None
