"""Records rendered as the Networking API shows them (attribute names and order of
upstream's responses). Field-level policy then filters the view (``rendering.py``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tinystack.common.timeutils import isotime
from tinystack.network.services.records import (
    AddressScopeRecord,
    AgentRecord,
    AvailabilityZoneRecord,
    FloatingIPRecord,
    NetworkIpAvailabilityRecord,
    NetworkRecord,
    PortForwardingRecord,
    PortRecord,
    QosPolicyRecord,
    QosRuleRecord,
    RbacPolicyRecord,
    RouterInterfaceRecord,
    RouterRecord,
    SecurityGroupRecord,
    SecurityGroupRuleRecord,
    SubnetPoolRecord,
    SubnetRecord,
)


def owner(project_id: str) -> dict[str, str]:
    return {"project_id": project_id, "tenant_id": project_id}


def network_view(net: NetworkRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": net.id,
        "name": net.name,
        **owner(net.project_id),
        "admin_state_up": net.admin_state_up,
        "status": net.status,
        "subnets": list(net.subnets),
        "shared": net.shared,
        "router:external": net.external,
        "mtu": net.mtu,
        "port_security_enabled": net.port_security_enabled,
        "availability_zone_hints": list(net.availability_zone_hints),
        "availability_zones": list(net.availability_zones),
        "ipv4_address_scope": net.ipv4_address_scope,
        "ipv6_address_scope": net.ipv6_address_scope,
        "l2_adjacency": net.l2_adjacency,
        "description": net.description,
        "created_at": isotime(net.created_at),
        "updated_at": isotime(net.updated_at),
        "revision_number": net.revision_number,
        "tags": list(net.tags),
        "qos_policy_id": net.qos_policy_id,
        "is_default": net.is_default,
        "dns_domain": net.dns_domain,
    }
    provider = net.provider
    if provider is None:
        out["segments"] = [s.as_provider() for s in net.segments]
    else:
        out.update(provider.as_provider())
    return out


def address_scope_view(scope: AddressScopeRecord) -> dict[str, Any]:
    return {
        "id": scope.id,
        "name": scope.name,
        **owner(scope.project_id),
        "ip_version": scope.ip_version,
        "shared": scope.shared,
        "description": scope.description,
        "created_at": isotime(scope.created_at),
        "updated_at": isotime(scope.updated_at),
        "revision_number": scope.revision_number,
        "tags": list(scope.tags),
    }


def qos_rule_view(rule: QosRuleRecord, project_id: str | None = None) -> dict[str, Any]:
    """A rule as its ``<type>_rules`` resource shows it (with ``type`` inside a policy);
    ``project_id``: the policy's owner, for the rule's policy checks only."""
    out: dict[str, Any] = {"id": rule.id}
    if rule.rule_type == "bandwidth_limit":
        out.update(
            max_kbps=rule.max_kbps, max_burst_kbps=rule.max_burst_kbps, direction=rule.direction
        )
    elif rule.rule_type == "dscp_marking":
        out["dscp_mark"] = rule.dscp_mark
    else:
        out.update(min_kbps=rule.min_kbps, direction=rule.direction)
    if project_id is None:
        out.update(qos_policy_id=rule.policy_id, type=rule.rule_type)
    else:
        out["_policy"] = owner(project_id)
    return out


def qos_policy_view(policy: QosPolicyRecord) -> dict[str, Any]:
    return {
        "id": policy.id,
        "name": policy.name,
        **owner(policy.project_id),
        "shared": policy.shared,
        "is_default": policy.is_default,
        "rules": [qos_rule_view(r) for r in policy.rules],
        "description": policy.description,
        "created_at": isotime(policy.created_at),
        "updated_at": isotime(policy.updated_at),
        "revision_number": policy.revision_number,
        "tags": list(policy.tags),
    }


def rbac_policy_view(policy: RbacPolicyRecord) -> dict[str, Any]:
    return {
        "id": policy.id,
        **owner(policy.project_id),
        "object_type": policy.object_type,
        "object_id": policy.object_id,
        "action": policy.action,
        "target_tenant": policy.target_project,
    }


def _agent_time(value: dt.datetime | None) -> str | None:
    """Agents' times as upstream shows them: ``2024-05-01 12:00:00``."""
    return f"{value:%Y-%m-%d %H:%M:%S}" if value is not None else None


def agent_view(agent: AgentRecord) -> dict[str, Any]:
    return {
        "id": agent.id,
        "agent_type": agent.agent_type,
        "binary": agent.binary,
        "host": agent.host,
        "topic": agent.topic,
        "admin_state_up": agent.admin_state_up,
        "alive": agent.alive,
        "availability_zone": agent.availability_zone,
        "configurations": dict(agent.configurations),
        "resource_versions": dict(agent.resource_versions),
        "description": agent.description,
        "created_at": _agent_time(agent.created_at),
        "started_at": _agent_time(agent.started_at),
        "heartbeat_timestamp": _agent_time(agent.heartbeat_timestamp),
    }


def availability_zone_view(zone: AvailabilityZoneRecord) -> dict[str, Any]:
    return {"name": zone.name, "resource": zone.resource, "state": zone.state}


def network_ip_availability_view(item: NetworkIpAvailabilityRecord) -> dict[str, Any]:
    return {
        "network_id": item.network_id,
        "network_name": item.network_name,
        **owner(item.project_id),
        "total_ips": item.total_ips,
        "used_ips": item.used_ips,
        "subnet_ip_availability": [
            {
                "subnet_id": s.subnet_id,
                "subnet_name": s.subnet_name,
                "cidr": s.cidr,
                "ip_version": s.ip_version,
                "total_ips": s.total_ips,
                "used_ips": s.used_ips,
            }
            for s in item.subnets
        ],
    }


def security_group_rule_view(rule: SecurityGroupRuleRecord) -> dict[str, Any]:
    return {
        "id": rule.id,
        "security_group_id": rule.security_group_id,
        **owner(rule.project_id),
        "direction": rule.direction,
        "ethertype": rule.ethertype,
        "protocol": rule.protocol,
        "port_range_min": rule.port_range_min,
        "port_range_max": rule.port_range_max,
        "remote_ip_prefix": rule.remote_ip_prefix,
        "normalized_cidr": rule.normalized_cidr,
        "remote_group_id": rule.remote_group_id,
        "belongs_to_default_sg": rule.belongs_to_default_sg,
        "description": rule.description,
        "created_at": isotime(rule.created_at),
        "updated_at": isotime(rule.updated_at),
        "revision_number": rule.revision_number,
        # (also shown inside a group's security_group_rules, as it always was)
        "_policy": {"security_group:project_id": rule.group_project_id},
    }


def security_group_view(group: SecurityGroupRecord) -> dict[str, Any]:
    return {
        "id": group.id,
        "name": group.name,
        **owner(group.project_id),
        "stateful": group.stateful,
        "shared": group.shared,
        "security_group_rules": [security_group_rule_view(r) for r in group.rules],
        "description": group.description,
        "created_at": isotime(group.created_at),
        "updated_at": isotime(group.updated_at),
        "revision_number": group.revision_number,
        "tags": list(group.tags),
    }


def subnetpool_view(pool: SubnetPoolRecord) -> dict[str, Any]:
    return {
        "id": pool.id,
        "name": pool.name,
        **owner(pool.project_id),
        "ip_version": pool.ip_version,
        "prefixes": list(pool.prefixes),
        "default_prefixlen": pool.default_prefixlen,
        "min_prefixlen": pool.min_prefixlen,
        "max_prefixlen": pool.max_prefixlen,
        "default_quota": pool.default_quota,
        "is_default": pool.is_default,
        "shared": pool.shared,
        "address_scope_id": pool.address_scope_id,
        "description": pool.description,
        "created_at": isotime(pool.created_at),
        "updated_at": isotime(pool.updated_at),
        "revision_number": pool.revision_number,
        "tags": list(pool.tags),
    }


def subnet_view(subnet: SubnetRecord) -> dict[str, Any]:
    return {
        "id": subnet.id,
        "name": subnet.name,
        **owner(subnet.project_id),
        "network_id": subnet.network_id,
        "ip_version": subnet.ip_version,
        "cidr": subnet.cidr,
        "gateway_ip": subnet.gateway_ip,
        "allocation_pools": [{"start": p.start, "end": p.end} for p in subnet.allocation_pools],
        "dns_nameservers": list(subnet.dns_nameservers),
        "host_routes": [
            {"destination": r.destination, "nexthop": r.nexthop} for r in subnet.host_routes
        ],
        "enable_dhcp": subnet.enable_dhcp,
        "ipv6_ra_mode": subnet.ipv6_ra_mode,
        "ipv6_address_mode": subnet.ipv6_address_mode,
        "subnetpool_id": subnet.subnetpool_id,
        "segment_id": subnet.segment_id,
        "service_types": list(subnet.service_types),
        "router:external": subnet.external,
        "description": subnet.description,
        "created_at": isotime(subnet.created_at),
        "updated_at": isotime(subnet.updated_at),
        "revision_number": subnet.revision_number,
        "tags": list(subnet.tags),
        "_policy": {
            "network:project_id": subnet.network_project_id,
            "network:tenant_id": subnet.network_project_id,
            "shared": subnet.network_shared,
        },
    }


def router_view(router: RouterRecord) -> dict[str, Any]:
    gateway = None
    if router.gateway is not None:
        gateway = {
            "network_id": router.gateway.network_id,
            "enable_snat": router.gateway.enable_snat,
            "external_fixed_ips": [
                {"subnet_id": ip.subnet_id, "ip_address": ip.ip_address}
                for ip in router.gateway.external_fixed_ips
            ],
        }
    return {
        "id": router.id,
        "name": router.name,
        **owner(router.project_id),
        "admin_state_up": router.admin_state_up,
        "status": router.status,
        "external_gateway_info": gateway,
        "routes": [{"destination": r.destination, "nexthop": r.nexthop} for r in router.routes],
        "availability_zone_hints": list(router.availability_zone_hints),
        "availability_zones": list(router.availability_zones),
        "distributed": False,
        "ha": False,
        "description": router.description,
        "created_at": isotime(router.created_at),
        "updated_at": isotime(router.updated_at),
        "revision_number": router.revision_number,
        "tags": list(router.tags),
    }


def router_interface_view(info: RouterInterfaceRecord) -> dict[str, Any]:
    return {
        "id": info.router_id,
        **owner(info.project_id),
        "port_id": info.port_id,
        "network_id": info.network_id,
        "subnet_id": info.subnet_ids[0] if info.subnet_ids else None,
        "subnet_ids": list(info.subnet_ids),
        "tags": list(info.tags),
    }


def _fip_forwarding(pf: PortForwardingRecord) -> dict[str, Any]:
    """A forwarding as its floating IP shows it (``expose-port-forwarding-in-fip``): single
    ports as ``*_port``, ranges as ``*_port_range``."""
    out: dict[str, Any] = {
        "protocol": pf.protocol,
        "internal_ip_address": pf.internal_ip_address,
    }
    for side, start, end in (
        ("internal", pf.internal_port_start, pf.internal_port_end),
        ("external", pf.external_port_start, pf.external_port_end),
    ):
        if start == end:
            out[f"{side}_port"] = start
        else:
            out[f"{side}_port_range"] = f"{start}:{end}"
    return out


def floatingip_view(fip: FloatingIPRecord) -> dict[str, Any]:
    details = None
    if fip.port_details is not None:
        port = fip.port_details
        details = {
            "name": port.name,
            "network_id": port.network_id,
            "mac_address": port.mac_address,
            "admin_state_up": port.admin_state_up,
            "status": port.status,
            "device_id": port.device_id,
            "device_owner": port.device_owner,
        }
    return {
        "id": fip.id,
        **owner(fip.project_id),
        "floating_network_id": fip.floating_network_id,
        "floating_ip_address": fip.floating_ip_address,
        "router_id": fip.router_id,
        "port_id": fip.port_id,
        "fixed_ip_address": fip.fixed_ip_address,
        "status": fip.status,
        "port_details": details,
        "port_forwardings": [_fip_forwarding(pf) for pf in fip.port_forwardings],
        "dns_name": "",  # kept only for an external DNS service (none here)
        "dns_domain": "",
        "description": fip.description,
        "created_at": isotime(fip.created_at),
        "updated_at": isotime(fip.updated_at),
        "revision_number": fip.revision_number,
        "tags": list(fip.tags),
    }


def port_view(port: PortRecord) -> dict[str, Any]:
    return {
        "id": port.id,
        "name": port.name,
        "network_id": port.network_id,
        **owner(port.project_id),
        "mac_address": port.mac_address,
        "admin_state_up": port.admin_state_up,
        "status": port.status,
        "device_id": port.device_id,
        "device_owner": port.device_owner,
        "fixed_ips": [
            {"subnet_id": ip.subnet_id, "ip_address": ip.ip_address} for ip in port.fixed_ips
        ],
        "security_groups": list(port.security_groups),
        "allowed_address_pairs": [
            {"ip_address": p.ip_address, "mac_address": p.mac_address}
            for p in port.allowed_address_pairs
        ],
        "extra_dhcp_opts": [
            {"opt_name": o.opt_name, "opt_value": o.opt_value, "ip_version": o.ip_version}
            for o in port.extra_dhcp_opts
        ],
        "port_security_enabled": port.port_security_enabled,
        "binding:host_id": port.host_id,
        "binding:vif_type": port.vif_type,
        "binding:vif_details": dict(port.vif_details),
        "binding:vnic_type": port.vnic_type,
        "binding:profile": dict(port.profile),
        "ip_allocation": "immediate",
        "description": port.description,
        "created_at": isotime(port.created_at),
        "updated_at": isotime(port.updated_at),
        "revision_number": port.revision_number,
        "tags": list(port.tags),
        "qos_policy_id": port.qos_policy_id,
        "qos_network_policy_id": port.qos_network_policy_id,
        "dns_name": port.dns_name,
        "dns_domain": port.dns_domain,
        "dns_assignment": [
            {"hostname": a.hostname, "ip_address": a.ip_address, "fqdn": a.fqdn}
            for a in port.dns_assignment
        ],
        "_policy": {
            "network:project_id": port.network_project_id,
            "network:tenant_id": port.network_project_id,
            "shared": port.network_shared,
        },
    }
