"""The network service layer: one module per resource, each owning its transactions."""

from __future__ import annotations

from dataclasses import dataclass

from tinystack.network.services.address_scopes import AddressScopes
from tinystack.network.services.agents import Agents
from tinystack.network.services.common import Deps
from tinystack.network.services.floatingips import FloatingIPs
from tinystack.network.services.network_ip_availability import NetworkIpAvailability
from tinystack.network.services.networks import Networks
from tinystack.network.services.ports import Ports
from tinystack.network.services.quotas import Quotas
from tinystack.network.services.rbac_policies import RbacPolicies
from tinystack.network.services.router_interfaces import RouterInterfaces
from tinystack.network.services.routers import Routers
from tinystack.network.services.security_group_rules import SecurityGroupRules
from tinystack.network.services.security_groups import SecurityGroups
from tinystack.network.services.subnetpools import SubnetPools
from tinystack.network.services.subnets import Subnets
from tinystack.network.services.tags import Tags


@dataclass
class Services:
    deps: Deps
    networks: Networks
    subnets: Subnets
    subnetpools: SubnetPools
    address_scopes: AddressScopes
    ports: Ports
    routers: Routers
    router_interfaces: RouterInterfaces
    floatingips: FloatingIPs
    security_groups: SecurityGroups
    security_group_rules: SecurityGroupRules
    quotas: Quotas
    rbac_policies: RbacPolicies
    ip_availability: NetworkIpAvailability
    agents: Agents
    tags: Tags

    @classmethod
    def build(cls, deps: Deps) -> Services:
        ports = Ports(deps)
        return cls(
            deps=deps,
            networks=Networks(deps),
            subnets=Subnets(deps),
            subnetpools=SubnetPools(deps),
            address_scopes=AddressScopes(deps),
            ports=ports,
            routers=Routers(deps),
            router_interfaces=RouterInterfaces(deps, ports),
            floatingips=FloatingIPs(deps, ports),
            security_groups=SecurityGroups(deps),
            security_group_rules=SecurityGroupRules(deps),
            quotas=Quotas(deps),
            rbac_policies=RbacPolicies(deps),
            ip_availability=NetworkIpAvailability(deps),
            agents=Agents(deps),
            tags=Tags(deps),
        )
