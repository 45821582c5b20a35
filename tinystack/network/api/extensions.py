"""``/v2.0/extensions``: exactly the API extensions this service implements."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.exception import not_found

UPDATED = "2026-01-01T00:00:00-00:00"

#: alias -> (name, description)
EXTENSIONS: dict[str, tuple[str, str]] = {
    "address-scope": ("Address scope", "Address scopes for subnet pools."),
    "agent": ("agent", "The agents that report to the service."),
    "allowed-address-pairs": ("Allowed Address Pairs", "Extra addresses a port may use."),
    "auto-allocated-topology": ("Auto Allocated Topology Services", "Get me a network."),
    "availability_zone": ("Availability Zone", "The availability zones resource."),
    "binding": ("Port Binding", "Host binding of ports (binding:* attributes)."),
    "default-subnetpools": ("Default Subnetpools", "use_default_subnet_pool for subnets."),
    "dns-domain-ports": ("dns_domain for ports", "dns_domain attribute of ports."),
    "dns-integration": ("DNS Integration", "dns_name, dns_assignment and dns_domain."),
    "external-net": ("Neutron external network", "router:external networks."),
    "extra_dhcp_opt": ("Neutron Extra DHCP options", "Extra DHCP options of ports."),
    "extraroute": ("Neutron Extra Route", "Static routes of routers."),
    "extraroute-atomic": ("Atomically add/remove extra routes", "add/remove_extraroutes."),
    "ext-gw-mode": ("Neutron L3 Configurable external gateway mode", "enable_snat."),
    "filter-validation": ("Filter parameters validation", "Unknown filters are rejected."),
    "fwaas_v2": ("FWaaS v2", "Provides support for firewall-as-a-service version 2"),
    "fip-port-details": ("Floating IP Port Details Extension", "port_details of floating IPs."),
    "ip-substring-filtering": ("IP address substring filtering", "ip_address_substr filter."),
    "ip_allocation": ("IP Allocation", "ip_allocation attribute of ports."),
    "l2_adjacency": ("L2 Adjacency", "l2_adjacency attribute of networks."),
    "metering": ("Neutron Metering", "Metering labels and their rules."),
    "metering_source_and_destination_fields": (
        "Neutron Metering with source and destination filtering",
        "source_ip_prefix and destination_ip_prefix of metering label rules.",
    ),
    "multi-provider": ("Multi Provider Network", "Networks with several segments."),
    "net-mtu": ("Network MTU", "mtu attribute of networks."),
    "net-mtu-writable": ("Network MTU (writable)", "Networks with a chosen MTU."),
    "network-ip-availability": ("Network IP Availability", "IP usage of networks."),
    "network_availability_zone": ("Network Availability Zone", "Zones of networks."),
    "pagination": ("Pagination support", "marker/limit pagination with links."),
    "port-security": ("Port Security", "port_security_enabled of networks and ports."),
    "port-security-groups-filtering": ("Port filtering on security groups", "Filter."),
    "floating-ip-port-forwarding": ("Floating IP Port Forwarding", "DNAT of FIP ports."),
    "floating-ip-port-forwarding-port-ranges": (
        "Floating IP Port Forwarding support for port ranges",
        "internal_port_range/external_port_range.",
    ),
    "floating-ip-port-forwarding-description": ("Floating IP Port Forwarding description", "."),
    "expose-port-forwarding-in-fip": (
        "Expose port forwardings in floating IP",
        "port_forwardings of floating IPs.",
    ),
    "project-id": ("project_id field enabled", "project_id next to tenant_id."),
    "provider": ("Provider Network", "provider:* attributes of networks."),
    "qos": ("Quality of Service", "QoS policies and their rules."),
    "qos-bw-limit-direction": ("Direction for QoS bandwidth limit rule", "direction."),
    "qos-default": ("QoS default policy", "is_default of QoS policies."),
    "qos-port-network-policy": ("QoS port network policy", "qos_network_policy_id of ports."),
    "qos-rule-type-details": ("Details of QoS rule types", "GET /qos/rule-types/{type}."),
    "qos-bw-minimum-ingress": ("Ingress direction for QoS minimum bandwidth rule", "ingress."),
    "quotas": ("Quota management support", "Per-project quotas."),
    "quota_details": ("Quota details management support", "Quota usage details."),
    "rbac-address-scope": ("Add address_scope type to RBAC", "Share address scopes."),
    "rbac-policies": ("RBAC Policies", "Access grants for objects."),
    "rbac-security-groups": ("Add security_group type to RBAC", "Share security groups."),
    "rbac-subnetpool": ("Add subnetpool type to RBAC", "Share subnet pools."),
    "revision-if-match": ("If-Match constraints based on revision_number", "If-Match."),
    "router": ("Neutron L3 Router", "Routers, interfaces and floating IPs."),
    "router_availability_zone": ("Router Availability Zone", "Zones of routers."),
    "security-group": ("security-group", "Security groups and rules."),
    "security-groups-normalized-cidr": ("Security group rule normalized CIDR", "normalized_cidr."),
    "security-groups-rules-belongs-to-default-sg": (
        "Security group rule belongs to the project's default security group",
        "belongs_to_default_sg of rules.",
    ),
    "segment": ("Segment", "Segments extension."),
    "segments-peer-subnet-host-routes": (
        "Segments peer-subnet host routes",
        "Host routes to the other segments' subnets of a routed network.",
    ),
    "security-groups-shared-filtering": ("Security group filtering on shared", "Filter."),
    "sorting": ("Sorting support", "sort_key/sort_dir."),
    "standard-attr-description": ("standard-attr-description", "description attributes."),
    "standard-attr-segment": ("Standard Attribute Segment Extension", "Segments' attributes."),
    "standard-attr-revisions": ("Resource revision numbers", "revision_number attributes."),
    "standard-attr-tag": ("Tag support for resources with standard attribute", "Tags."),
    "standard-attr-timestamp": ("Resource timestamps", "created_at/updated_at attributes."),
    "stateful-security-group": ("Stateful security group", "stateful of security groups."),
    "subnet-external-network": ("Subnet External Network", "router:external of subnets."),
    "subnet-segmentid-writable": ("Subnet SegmentID (writable)", "segment_id of subnets."),
    "subnet-service-types": ("Subnet service types", "service_types of subnets."),
    "subnet_allocation": ("Subnet Allocation", "Subnets from subnet pools."),
    "subnetpool-prefix-ops": ("Subnet Pool Prefix Operations", "add/remove_prefixes."),
    "tag-creation": ("Tag support on create", "tags in create requests."),
    "tag-ports-during-bulk-creation": ("Tag Ports During Bulk Creation", "tags in bulk."),
}


def _render(alias: str) -> dict[str, object]:
    name, description = EXTENSIONS[alias]
    return {
        "alias": alias,
        "name": name,
        "description": description,
        "updated": UPDATED,
        "links": [],
    }


def list_extensions(ctx: ContextDep) -> Response:
    return JSONResponse({"extensions": [_render(a) for a in sorted(EXTENSIONS)]})


def show_extension(alias: str, ctx: ContextDep) -> Response:
    if alias not in EXTENSIONS:
        raise not_found("extension", alias)
    return JSONResponse({"extension": _render(alias)})
