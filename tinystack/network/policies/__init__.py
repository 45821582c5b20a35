"""Network policy rules: upstream Neutron's names and current (secure RBAC) defaults."""

from __future__ import annotations

from oslo_policy import policy

from tinystack.network.policies import (
    address_scopes,
    agents,
    auto_allocated_topology,
    availability_zones,
    base,
    firewall_groups,
    firewall_policies,
    firewall_rules,
    floatingips,
    metering_label_rules,
    metering_labels,
    network_ip_availability,
    networks,
    port_forwardings,
    ports,
    qos_policies,
    qos_rules,
    quotas,
    rbac_policies,
    routers,
    security_group_rules,
    security_groups,
    segments,
    subnetpools,
    subnets,
)

_MODULES = (
    base,
    networks,
    subnets,
    subnetpools,
    address_scopes,
    ports,
    routers,
    floatingips,
    security_groups,
    security_group_rules,
    rbac_policies,
    quotas,
    network_ip_availability,
    agents,
    availability_zones,
    qos_policies,
    qos_rules,
    port_forwardings,
    auto_allocated_topology,
    firewall_rules,
    firewall_policies,
    firewall_groups,
    metering_labels,
    metering_label_rules,
    segments,
)


def list_rules() -> list[policy.RuleDefault]:
    return [r for module in _MODULES for r in module.RULES]
