"""The network API's route table: every route, one line each, in matching order.

Resource modules hold the handlers; write routes name their request model (``schemas``),
which ``/openapi.json`` describes while the handlers keep parsing bodies themselves
(Neutron's envelopes, bulk lists and 400 error messages). ``/v2.0/networks.json`` is
served as ``/v2.0/networks`` (older clients add the suffix).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from tinystack.common.api import errors
from tinystack.common.api.app import request_id
from tinystack.common.api.openapi import PUBLIC, policies
from tinystack.network.api import (
    address_scopes,
    agents,
    auto_allocated_topology,
    availability_zones,
    extensions,
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
    tags,
    versions,
)
from tinystack.network.api import schemas as s

LOG = logging.getLogger(__name__)
REF_TEMPLATE = "#/components/schemas/{model}"
_BANDWIDTH_LIMIT = qos_rules.BANDWIDTH_LIMIT.make()
_DSCP_MARKING = qos_rules.DSCP_MARKING.make()
_MINIMUM_BANDWIDTH = qos_rules.MINIMUM_BANDWIDTH.make()
_RULE_HANDLERS = (
    (qos_rules.BANDWIDTH_LIMIT, _BANDWIDTH_LIMIT),
    (qos_rules.DSCP_MARKING, _DSCP_MARKING),
    (qos_rules.MINIMUM_BANDWIDTH, _MINIMUM_BANDWIDTH),
)


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    handler: Callable[..., Response]
    status: int | None = None


def get(path: str, handler: Callable[..., Response], status: int | None = None) -> Route:
    return Route("GET", path, handler, status)


def delete(path: str, handler: Callable[..., Response], status: int | None = None) -> Route:
    return Route("DELETE", path, handler, status)


def post(path: str, handler: Callable[..., Response], status: int | None = None) -> Route:
    return Route("POST", path, handler, status)


def put(path: str, handler: Callable[..., Response], status: int | None = None) -> Route:
    return Route("PUT", path, handler, status)


ROUTES: tuple[Route, ...] = (
    get("/", versions.list_versions),
    get("/v2.0", versions.show_version),
    get("/v2.0/", versions.show_version),
    get("/v2.0/extensions", extensions.list_extensions),
    get("/v2.0/extensions/{alias}", extensions.show_extension),
    get("/v2.0/networks", networks.list_networks),
    post("/v2.0/networks", networks.create_network, 201),
    get("/v2.0/networks/{network_id}", networks.show_network),
    put("/v2.0/networks/{network_id}", networks.update_network),
    delete("/v2.0/networks/{network_id}", networks.delete_network, 204),
    get("/v2.0/subnets", subnets.list_subnets),
    post("/v2.0/subnets", subnets.create_subnet, 201),
    get("/v2.0/subnets/{subnet_id}", subnets.show_subnet),
    put("/v2.0/subnets/{subnet_id}", subnets.update_subnet),
    delete("/v2.0/subnets/{subnet_id}", subnets.delete_subnet, 204),
    get("/v2.0/segments", segments.list_segments),
    post("/v2.0/segments", segments.create_segment, 201),
    get("/v2.0/segments/{segment_id}", segments.show_segment),
    put("/v2.0/segments/{segment_id}", segments.update_segment),
    delete("/v2.0/segments/{segment_id}", segments.delete_segment, 204),
    get("/v2.0/subnetpools", subnetpools.list_subnetpools),
    post("/v2.0/subnetpools", subnetpools.create_subnetpool, 201),
    get("/v2.0/subnetpools/{pool_id}", subnetpools.show_subnetpool),
    put("/v2.0/subnetpools/{pool_id}", subnetpools.update_subnetpool),
    delete("/v2.0/subnetpools/{pool_id}", subnetpools.delete_subnetpool, 204),
    put("/v2.0/subnetpools/{pool_id}/add_prefixes", subnetpools.add_prefixes),
    put("/v2.0/subnetpools/{pool_id}/remove_prefixes", subnetpools.remove_prefixes),
    get("/v2.0/address-scopes", address_scopes.list_address_scopes),
    post("/v2.0/address-scopes", address_scopes.create_address_scope, 201),
    get("/v2.0/address-scopes/{scope_id}", address_scopes.show_address_scope),
    put("/v2.0/address-scopes/{scope_id}", address_scopes.update_address_scope),
    delete("/v2.0/address-scopes/{scope_id}", address_scopes.delete_address_scope, 204),
    get("/v2.0/ports", ports.list_ports),
    post("/v2.0/ports", ports.create_port, 201),
    get("/v2.0/ports/{port_id}", ports.show_port),
    put("/v2.0/ports/{port_id}", ports.update_port),
    delete("/v2.0/ports/{port_id}", ports.delete_port, 204),
    get("/v2.0/routers", routers.list_routers),
    post("/v2.0/routers", routers.create_router, 201),
    get("/v2.0/routers/{router_id}", routers.show_router),
    put("/v2.0/routers/{router_id}", routers.update_router),
    delete("/v2.0/routers/{router_id}", routers.delete_router, 204),
    put("/v2.0/routers/{router_id}/add_router_interface", routers.add_router_interface),
    put("/v2.0/routers/{router_id}/remove_router_interface", routers.remove_router_interface),
    put("/v2.0/routers/{router_id}/add_extraroutes", routers.add_extraroutes),
    put("/v2.0/routers/{router_id}/remove_extraroutes", routers.remove_extraroutes),
    get("/v2.0/floatingips", floatingips.list_floatingips),
    post("/v2.0/floatingips", floatingips.create_floatingip, 201),
    get("/v2.0/floatingips/{fip_id}", floatingips.show_floatingip),
    put("/v2.0/floatingips/{fip_id}", floatingips.update_floatingip),
    delete("/v2.0/floatingips/{fip_id}", floatingips.delete_floatingip, 204),
    get("/v2.0/floatingips/{fip_id}/port_forwardings", port_forwardings.list_port_forwardings),
    post(
        "/v2.0/floatingips/{fip_id}/port_forwardings",
        port_forwardings.create_port_forwarding,
        201,
    ),
    get(
        "/v2.0/floatingips/{fip_id}/port_forwardings/{forwarding_id}",
        port_forwardings.show_port_forwarding,
    ),
    put(
        "/v2.0/floatingips/{fip_id}/port_forwardings/{forwarding_id}",
        port_forwardings.update_port_forwarding,
    ),
    delete(
        "/v2.0/floatingips/{fip_id}/port_forwardings/{forwarding_id}",
        port_forwardings.delete_port_forwarding,
        204,
    ),
    get("/v2.0/security-groups", security_groups.list_security_groups),
    post("/v2.0/security-groups", security_groups.create_security_group, 201),
    get("/v2.0/security-groups/{group_id}", security_groups.show_security_group),
    put("/v2.0/security-groups/{group_id}", security_groups.update_security_group),
    delete("/v2.0/security-groups/{group_id}", security_groups.delete_security_group, 204),
    get("/v2.0/security-group-rules", security_group_rules.list_security_group_rules),
    post("/v2.0/security-group-rules", security_group_rules.create_security_group_rule, 201),
    get("/v2.0/security-group-rules/{rule_id}", security_group_rules.show_security_group_rule),
    delete(
        "/v2.0/security-group-rules/{rule_id}", security_group_rules.delete_security_group_rule, 204
    ),
    get("/v2.0/quotas", quotas.list_quotas),
    get("/v2.0/quotas/tenant", quotas.show_own_project),
    get("/v2.0/quotas/{project_id}", quotas.show_quota),
    get("/v2.0/quotas/{project_id}/default", quotas.show_default_quota),
    get("/v2.0/quotas/{project_id}/details", quotas.show_quota_details),
    put("/v2.0/quotas/{project_id}", quotas.update_quota),
    delete("/v2.0/quotas/{project_id}", quotas.delete_quota, 204),
    get("/v2.0/rbac-policies", rbac_policies.list_rbac_policies),
    post("/v2.0/rbac-policies", rbac_policies.create_rbac_policy, 201),
    get("/v2.0/rbac-policies/{policy_id}", rbac_policies.show_rbac_policy),
    put("/v2.0/rbac-policies/{policy_id}", rbac_policies.update_rbac_policy),
    delete("/v2.0/rbac-policies/{policy_id}", rbac_policies.delete_rbac_policy, 204),
    get("/v2.0/network-ip-availabilities", network_ip_availability.list_availabilities),
    get("/v2.0/network-ip-availabilities/{network_id}", network_ip_availability.show_availability),
    get("/v2.0/agents", agents.list_agents),
    get("/v2.0/agents/{agent_id}", agents.show_agent),
    put("/v2.0/agents/{agent_id}", agents.update_agent),
    delete("/v2.0/agents/{agent_id}", agents.delete_agent, 204),
    get("/v2.0/availability_zones", availability_zones.list_availability_zones),
    get("/v2.0/qos/policies", qos_policies.list_policies),
    post("/v2.0/qos/policies", qos_policies.create_policy, 201),
    get("/v2.0/qos/policies/{qos_policy_id}", qos_policies.show_policy),
    put("/v2.0/qos/policies/{qos_policy_id}", qos_policies.update_policy),
    delete("/v2.0/qos/policies/{qos_policy_id}", qos_policies.delete_policy, 204),
    get("/v2.0/qos/policies/{qos_policy_id}/bandwidth_limit_rules", _BANDWIDTH_LIMIT["list"]),
    post(
        "/v2.0/qos/policies/{qos_policy_id}/bandwidth_limit_rules", _BANDWIDTH_LIMIT["create"], 201
    ),
    get(
        "/v2.0/qos/policies/{qos_policy_id}/bandwidth_limit_rules/{rule_id}",
        _BANDWIDTH_LIMIT["show"],
    ),
    put(
        "/v2.0/qos/policies/{qos_policy_id}/bandwidth_limit_rules/{rule_id}",
        _BANDWIDTH_LIMIT["update"],
    ),
    delete(
        "/v2.0/qos/policies/{qos_policy_id}/bandwidth_limit_rules/{rule_id}",
        _BANDWIDTH_LIMIT["delete"],
        204,
    ),
    get("/v2.0/qos/policies/{qos_policy_id}/dscp_marking_rules", _DSCP_MARKING["list"]),
    post("/v2.0/qos/policies/{qos_policy_id}/dscp_marking_rules", _DSCP_MARKING["create"], 201),
    get("/v2.0/qos/policies/{qos_policy_id}/dscp_marking_rules/{rule_id}", _DSCP_MARKING["show"]),
    put("/v2.0/qos/policies/{qos_policy_id}/dscp_marking_rules/{rule_id}", _DSCP_MARKING["update"]),
    delete(
        "/v2.0/qos/policies/{qos_policy_id}/dscp_marking_rules/{rule_id}",
        _DSCP_MARKING["delete"],
        204,
    ),
    get("/v2.0/qos/policies/{qos_policy_id}/minimum_bandwidth_rules", _MINIMUM_BANDWIDTH["list"]),
    post(
        "/v2.0/qos/policies/{qos_policy_id}/minimum_bandwidth_rules",
        _MINIMUM_BANDWIDTH["create"],
        201,
    ),
    get(
        "/v2.0/qos/policies/{qos_policy_id}/minimum_bandwidth_rules/{rule_id}",
        _MINIMUM_BANDWIDTH["show"],
    ),
    put(
        "/v2.0/qos/policies/{qos_policy_id}/minimum_bandwidth_rules/{rule_id}",
        _MINIMUM_BANDWIDTH["update"],
    ),
    delete(
        "/v2.0/qos/policies/{qos_policy_id}/minimum_bandwidth_rules/{rule_id}",
        _MINIMUM_BANDWIDTH["delete"],
        204,
    ),
    get(
        "/v2.0/auto-allocated-topology/{project_id}",
        auto_allocated_topology.get_auto_allocated_topology,
    ),
    delete(
        "/v2.0/auto-allocated-topology/{project_id}",
        auto_allocated_topology.delete_auto_allocated_topology,
        204,
    ),
    get("/v2.0/fwaas/firewall_rules", firewall_rules.list_firewall_rules),
    post("/v2.0/fwaas/firewall_rules", firewall_rules.create_firewall_rule, 201),
    get("/v2.0/fwaas/firewall_rules/{firewall_rule_id}", firewall_rules.show_firewall_rule),
    put("/v2.0/fwaas/firewall_rules/{firewall_rule_id}", firewall_rules.update_firewall_rule),
    delete(
        "/v2.0/fwaas/firewall_rules/{firewall_rule_id}", firewall_rules.delete_firewall_rule, 204
    ),
    get("/v2.0/fwaas/firewall_policies", firewall_policies.list_firewall_policies),
    post("/v2.0/fwaas/firewall_policies", firewall_policies.create_firewall_policy, 201),
    get(
        "/v2.0/fwaas/firewall_policies/{firewall_policy_id}",
        firewall_policies.show_firewall_policy,
    ),
    put(
        "/v2.0/fwaas/firewall_policies/{firewall_policy_id}",
        firewall_policies.update_firewall_policy,
    ),
    delete(
        "/v2.0/fwaas/firewall_policies/{firewall_policy_id}",
        firewall_policies.delete_firewall_policy,
        204,
    ),
    put(
        "/v2.0/fwaas/firewall_policies/{firewall_policy_id}/insert_rule",
        firewall_policies.insert_rule,
    ),
    put(
        "/v2.0/fwaas/firewall_policies/{firewall_policy_id}/remove_rule",
        firewall_policies.remove_rule,
    ),
    get("/v2.0/fwaas/firewall_groups", firewall_groups.list_firewall_groups),
    post("/v2.0/fwaas/firewall_groups", firewall_groups.create_firewall_group, 201),
    get("/v2.0/fwaas/firewall_groups/{firewall_group_id}", firewall_groups.show_firewall_group),
    put("/v2.0/fwaas/firewall_groups/{firewall_group_id}", firewall_groups.update_firewall_group),
    delete(
        "/v2.0/fwaas/firewall_groups/{firewall_group_id}",
        firewall_groups.delete_firewall_group,
        204,
    ),
    get("/v2.0/metering/metering-labels", metering_labels.list_metering_labels),
    post("/v2.0/metering/metering-labels", metering_labels.create_metering_label, 201),
    get(
        "/v2.0/metering/metering-labels/{metering_label_id}",
        metering_labels.show_metering_label,
    ),
    delete(
        "/v2.0/metering/metering-labels/{metering_label_id}",
        metering_labels.delete_metering_label,
        204,
    ),
    get("/v2.0/metering/metering-label-rules", metering_label_rules.list_metering_label_rules),
    post(
        "/v2.0/metering/metering-label-rules",
        metering_label_rules.create_metering_label_rule,
        201,
    ),
    get(
        "/v2.0/metering/metering-label-rules/{metering_label_rule_id}",
        metering_label_rules.show_metering_label_rule,
    ),
    delete(
        "/v2.0/metering/metering-label-rules/{metering_label_rule_id}",
        metering_label_rules.delete_metering_label_rule,
        204,
    ),
    get("/v2.0/qos/rule-types", qos_rules.list_rule_types),
    get("/v2.0/qos/rule-types/{rule_type}", qos_rules.show_rule_type),
    get("/v2.0/{resources}/{resource_id}/tags", tags.list_tags),
    put("/v2.0/{resources}/{resource_id}/tags", tags.replace_tags),
    delete("/v2.0/{resources}/{resource_id}/tags", tags.clear_tags, 204),
    get("/v2.0/{resources}/{resource_id}/tags/{tag}", tags.check_tag, 204),
    put("/v2.0/{resources}/{resource_id}/tags/{tag}", tags.add_tag, 201),
    delete("/v2.0/{resources}/{resource_id}/tags/{tag}", tags.remove_tag, 204),
)


#: the request model of every write route with a body (``PUT .../tags/{tag}`` has none)
BODIES: dict[Callable[..., Response], type[BaseModel]] = {
    firewall_rules.create_firewall_rule: s.FirewallRuleCreateRequest,
    firewall_rules.update_firewall_rule: s.FirewallRuleUpdateRequest,
    firewall_policies.create_firewall_policy: s.FirewallPolicyCreateRequest,
    firewall_policies.update_firewall_policy: s.FirewallPolicyUpdateRequest,
    firewall_policies.insert_rule: s.FirewallRuleInsertion,
    firewall_policies.remove_rule: s.FirewallRuleInsertion,
    firewall_groups.create_firewall_group: s.FirewallGroupCreateRequest,
    firewall_groups.update_firewall_group: s.FirewallGroupUpdateRequest,
    metering_labels.create_metering_label: s.MeteringLabelCreateRequest,
    metering_label_rules.create_metering_label_rule: s.MeteringLabelRuleCreateRequest,
    networks.create_network: s.NetworkCreateRequest,
    networks.update_network: s.NetworkUpdateRequest,
    subnets.create_subnet: s.SubnetCreateRequest,
    subnets.update_subnet: s.SubnetUpdateRequest,
    segments.create_segment: s.SegmentCreateRequest,
    segments.update_segment: s.SegmentUpdateRequest,
    subnetpools.create_subnetpool: s.SubnetPoolCreateRequest,
    subnetpools.update_subnetpool: s.SubnetPoolUpdateRequest,
    subnetpools.add_prefixes: s.Prefixes,
    subnetpools.remove_prefixes: s.Prefixes,
    address_scopes.create_address_scope: s.AddressScopeCreateRequest,
    address_scopes.update_address_scope: s.AddressScopeUpdateRequest,
    ports.create_port: s.PortCreateRequest,
    ports.update_port: s.PortUpdateRequest,
    routers.create_router: s.RouterCreateRequest,
    routers.update_router: s.RouterUpdateRequest,
    routers.add_router_interface: s.Interface,
    routers.remove_router_interface: s.Interface,
    routers.add_extraroutes: s.RoutesRequest,
    routers.remove_extraroutes: s.RoutesRequest,
    floatingips.create_floatingip: s.FloatingIPCreateRequest,
    floatingips.update_floatingip: s.FloatingIPUpdateRequest,
    security_groups.create_security_group: s.SecurityGroupCreateRequest,
    security_groups.update_security_group: s.SecurityGroupUpdateRequest,
    security_group_rules.create_security_group_rule: s.RuleCreateRequest,
    quotas.update_quota: s.QuotaUpdateRequest,
    rbac_policies.create_rbac_policy: s.RbacCreateRequest,
    rbac_policies.update_rbac_policy: s.RbacUpdateRequest,
    agents.update_agent: s.AgentUpdateRequest,
    tags.replace_tags: s.TagsReplace,
    port_forwardings.create_port_forwarding: s.PortForwardingRequest,
    port_forwardings.update_port_forwarding: s.PortForwardingRequest,
    qos_policies.create_policy: s.QosPolicyCreateRequest,
    qos_policies.update_policy: s.QosPolicyUpdateRequest,
    _BANDWIDTH_LIMIT["create"]: s.BandwidthLimitRuleRequest,
    _BANDWIDTH_LIMIT["update"]: s.BandwidthLimitRuleRequest,
    _DSCP_MARKING["create"]: s.DscpMarkingRuleRequest,
    _DSCP_MARKING["update"]: s.DscpMarkingRuleRequest,
    _MINIMUM_BANDWIDTH["create"]: s.MinimumBandwidthRuleRequest,
    _MINIMUM_BANDWIDTH["update"]: s.MinimumBandwidthRuleRequest,
}


#: the policy rules each handler checks (``x-policies``); the others check none of their own
POLICIES: dict[Callable[..., Response], tuple[str, ...]] = {
    firewall_rules.list_firewall_rules: ("get_firewall_rule",),
    firewall_rules.create_firewall_rule: ("create_firewall_rule",),
    firewall_rules.show_firewall_rule: ("get_firewall_rule",),
    firewall_rules.update_firewall_rule: ("update_firewall_rule",),
    firewall_rules.delete_firewall_rule: ("delete_firewall_rule",),
    firewall_policies.list_firewall_policies: ("get_firewall_policy",),
    firewall_policies.create_firewall_policy: ("create_firewall_policy",),
    firewall_policies.show_firewall_policy: ("get_firewall_policy",),
    firewall_policies.update_firewall_policy: ("update_firewall_policy",),
    firewall_policies.delete_firewall_policy: ("delete_firewall_policy",),
    firewall_policies.insert_rule: ("insert_rule",),
    firewall_policies.remove_rule: ("remove_rule",),
    firewall_groups.list_firewall_groups: ("get_firewall_group",),
    firewall_groups.create_firewall_group: ("create_firewall_group",),
    firewall_groups.show_firewall_group: ("get_firewall_group",),
    firewall_groups.update_firewall_group: ("update_firewall_group",),
    firewall_groups.delete_firewall_group: ("delete_firewall_group",),
    metering_labels.list_metering_labels: ("get_metering_label",),
    metering_labels.create_metering_label: ("create_metering_label",),
    metering_labels.show_metering_label: ("get_metering_label",),
    metering_labels.delete_metering_label: ("delete_metering_label",),
    metering_label_rules.list_metering_label_rules: ("get_metering_label_rule",),
    metering_label_rules.create_metering_label_rule: ("create_metering_label_rule",),
    metering_label_rules.show_metering_label_rule: ("get_metering_label_rule",),
    metering_label_rules.delete_metering_label_rule: ("delete_metering_label_rule",),
    networks.list_networks: ("get_network",),
    networks.create_network: ("create_network",),
    networks.show_network: ("get_network",),
    networks.update_network: ("update_network",),
    networks.delete_network: ("delete_network",),
    subnets.list_subnets: ("get_subnet",),
    subnets.create_subnet: ("create_subnet",),
    subnets.show_subnet: ("get_subnet",),
    subnets.update_subnet: ("update_subnet",),
    subnets.delete_subnet: ("delete_subnet",),
    segments.list_segments: ("get_segment",),
    segments.create_segment: ("create_segment",),
    segments.show_segment: ("get_segment",),
    segments.update_segment: ("get_segment", "update_segment"),
    segments.delete_segment: ("get_segment", "delete_segment"),
    subnetpools.list_subnetpools: ("get_subnetpool",),
    subnetpools.create_subnetpool: ("create_subnetpool",),
    subnetpools.show_subnetpool: ("get_subnetpool",),
    subnetpools.update_subnetpool: ("update_subnetpool",),
    subnetpools.delete_subnetpool: ("delete_subnetpool",),
    subnetpools.add_prefixes: ("add_prefixes",),
    subnetpools.remove_prefixes: ("remove_prefixes",),
    address_scopes.list_address_scopes: ("get_address_scope",),
    address_scopes.create_address_scope: ("create_address_scope",),
    address_scopes.show_address_scope: ("get_address_scope",),
    address_scopes.update_address_scope: ("update_address_scope",),
    address_scopes.delete_address_scope: ("delete_address_scope",),
    ports.list_ports: ("get_port",),
    ports.create_port: ("create_port",),
    ports.show_port: ("get_port",),
    ports.update_port: ("update_port",),
    ports.delete_port: ("delete_port",),
    routers.list_routers: ("get_router",),
    routers.create_router: ("create_router",),
    routers.show_router: ("get_router",),
    routers.update_router: ("update_router",),
    routers.delete_router: ("delete_router",),
    routers.add_router_interface: ("add_router_interface",),
    routers.remove_router_interface: ("remove_router_interface",),
    routers.add_extraroutes: ("add_extraroutes",),
    routers.remove_extraroutes: ("remove_extraroutes",),
    floatingips.list_floatingips: ("get_floatingip",),
    floatingips.create_floatingip: ("create_floatingip",),
    floatingips.show_floatingip: ("get_floatingip",),
    floatingips.update_floatingip: ("update_floatingip",),
    floatingips.delete_floatingip: ("delete_floatingip",),
    security_groups.list_security_groups: ("get_security_group",),
    security_groups.create_security_group: ("create_security_group",),
    security_groups.show_security_group: ("get_security_group",),
    security_groups.update_security_group: ("update_security_group",),
    security_groups.delete_security_group: ("delete_security_group",),
    security_group_rules.list_security_group_rules: ("get_security_group_rule",),
    security_group_rules.create_security_group_rule: ("create_security_group_rule",),
    security_group_rules.show_security_group_rule: ("get_security_group_rule",),
    security_group_rules.delete_security_group_rule: ("delete_security_group_rule",),
    quotas.list_quotas: ("update_quota",),
    quotas.show_quota: ("get_quota",),
    quotas.show_default_quota: ("get_quota",),
    quotas.show_quota_details: ("get_quota",),
    quotas.update_quota: ("update_quota",),
    quotas.delete_quota: ("delete_quota",),
    rbac_policies.list_rbac_policies: ("get_rbac_policy",),
    rbac_policies.create_rbac_policy: ("create_rbac_policy",),
    rbac_policies.show_rbac_policy: ("get_rbac_policy",),
    rbac_policies.update_rbac_policy: ("update_rbac_policy",),
    rbac_policies.delete_rbac_policy: ("delete_rbac_policy",),
    network_ip_availability.list_availabilities: ("get_network_ip_availability",),
    network_ip_availability.show_availability: ("get_network_ip_availability",),
    agents.list_agents: ("get_agent",),
    agents.show_agent: ("get_agent",),
    agents.update_agent: ("update_agent",),
    agents.delete_agent: ("delete_agent",),
    availability_zones.list_availability_zones: ("get_availability_zone",),
    tags.list_tags: tags.rules("get"),
    tags.replace_tags: tags.rules("update"),
    tags.clear_tags: tags.rules("delete"),
    tags.check_tag: tags.rules("get"),
    tags.add_tag: tags.rules("update"),
    tags.remove_tag: tags.rules("delete"),
    port_forwardings.list_port_forwardings: ("get_floatingip_port_forwarding",),
    port_forwardings.create_port_forwarding: ("create_floatingip_port_forwarding",),
    port_forwardings.show_port_forwarding: ("get_floatingip_port_forwarding",),
    port_forwardings.update_port_forwarding: ("update_floatingip_port_forwarding",),
    port_forwardings.delete_port_forwarding: ("delete_floatingip_port_forwarding",),
    qos_policies.list_policies: ("get_policy",),
    qos_policies.create_policy: ("create_policy",),
    qos_policies.show_policy: ("get_policy",),
    qos_policies.update_policy: ("update_policy",),
    qos_policies.delete_policy: ("delete_policy",),
    **{
        handlers[action]: rules.rule_names("get" if action in ("list", "show") else action)
        for rules, handlers in _RULE_HANDLERS
        for action in handlers
    },
    auto_allocated_topology.get_auto_allocated_topology: ("get_auto_allocated_topology",),
    auto_allocated_topology.delete_auto_allocated_topology: ("delete_auto_allocated_topology",),
    qos_rules.show_rule_type: ("get_rule_type",),
}


def _tag(path: str) -> str:
    if "/tags" in path:
        return "tags"
    parts = path.split("/")
    return parts[2] if len(parts) > 2 and parts[2] else "versions"


def _extra(handler: Callable[..., Response]) -> dict[str, Any]:
    """The route's policy rules (or PUBLIC) and request body for /openapi.json."""
    rules = POLICIES.get(handler)
    extra: dict[str, Any] = policies(*rules) if rules else dict(PUBLIC)
    model = BODIES.get(handler)
    if model is not None:
        ref = {"$ref": f"#/components/schemas/{model.__name__}"}
        content = {"application/json": {"schema": ref}}
        extra["requestBody"] = {"required": True, "content": content}
    return extra


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document plus the request models of ``BODIES`` (the handlers parse the
    bodies themselves, for Neutron's envelopes and error messages, so FastAPI does not)."""
    if app.openapi_schema is None:
        doc = get_openapi(title=app.title, version=app.version, routes=app.routes)
        known = doc.setdefault("components", {}).setdefault("schemas", {})
        for model in BODIES.values():
            schema = model.model_json_schema(ref_template=REF_TEMPLATE)
            known.update(schema.pop("$defs", {}))
            known[model.__name__] = schema
        app.openapi_schema = doc
    return app.openapi_schema


def include_routes(app: FastAPI) -> None:
    for route in ROUTES:
        app.add_api_route(
            route.path,
            route.handler,
            methods=[route.method],
            status_code=route.status,
            tags=[_tag(route.path)],
            openapi_extra=_extra(route.handler),
        )
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    @app.exception_handler(IntegrityError)
    def _integrity_error(request: Request, exc: IntegrityError) -> Response:
        # A constraint caught what validation did not (e.g. a concurrent change): a conflict.
        LOG.warning(
            "constraint violation serving %s %s: %s", request.method, request.url.path, exc.orig
        )
        message = "The request conflicts with the current state of the resource."
        return errors.network(409, "Conflict", message, "Conflict", request_id(request))


class JsonSuffix:
    """Serve ``/v2.0/networks.json`` as ``/v2.0/networks`` (older clients add it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/v2.0/") and path.endswith(".json"):
            scope = dict(scope)
            scope["path"] = path[: -len(".json")]
            raw = scope.get("raw_path")
            if isinstance(raw, bytes) and raw.endswith(b".json"):
                scope["raw_path"] = raw[: -len(b".json")]
        await self.app(scope, receive, send)
