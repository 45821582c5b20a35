"""Network policy rules: upstream Neutron's names and current (secure RBAC) defaults."""

from __future__ import annotations

from oslo_policy import policy

from tinystack.network.policies import (
    address_scopes,
    agents,
    auto_allocated_topology,
    availability_zones,
    base,
    floatingips,
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
)


def list_rules() -> list[policy.RuleDefault]:
    return [r for module in _MODULES for r in module.RULES]
