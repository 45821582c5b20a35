"""Records rendered as Octavia's JSON objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tinystack.load_balancer.services.records import (
    HealthMonitorRecord,
    L7PolicyRecord,
    L7RuleRecord,
    ListenerRecord,
    LoadBalancerRecord,
    MemberRecord,
    PoolRecord,
    StatsRecord,
)


def _time(moment: datetime | None) -> str | None:
    return moment.replace(microsecond=0).isoformat() if moment is not None else None


def _ids(ids: tuple[str, ...] | list[str]) -> list[dict[str, str]]:
    return [{"id": i} for i in ids]


def only(view: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The view cut to ``fields`` (all of it when none are asked for)."""
    return {k: v for k, v in view.items() if k in fields} if fields else view


def _common(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "description": r.description,
        "admin_state_up": r.admin_state_up,
        "provisioning_status": r.provisioning_status,
        "operating_status": r.operating_status,
        "project_id": r.project_id,
        "tags": list(r.tags or []),
        "created_at": _time(r.created_at),
        "updated_at": _time(r.updated_at),
    }


def loadbalancer(r: LoadBalancerRecord) -> dict[str, Any]:
    return {
        **_common(r),
        "tenant_id": r.project_id,
        "vip_address": r.vip_address,
        "vip_port_id": r.vip_port_id,
        "vip_subnet_id": r.vip_subnet_id,
        "vip_network_id": r.vip_network_id,
        "vip_qos_policy_id": r.vip_qos_policy_id,
        "vip_vnic_type": "normal",
        "additional_vips": [],
        "listeners": _ids(r.listener_ids),
        "pools": _ids(r.pool_ids),
        "provider": r.provider,
        "flavor_id": r.flavor_id,
        "availability_zone": r.availability_zone,
    }


def listener(r: ListenerRecord) -> dict[str, Any]:
    return {
        **_common(r),
        "protocol": r.protocol,
        "protocol_port": r.protocol_port,
        "connection_limit": r.connection_limit,
        "default_tls_container_ref": None,
        "sni_container_refs": [],
        "default_pool_id": r.default_pool_id,
        "l7policies": _ids(r.l7policy_ids),
        "insert_headers": dict(r.insert_headers or {}),
        "loadbalancers": [{"id": r.load_balancer_id}],
        "timeout_client_data": r.timeout_client_data,
        "timeout_member_connect": r.timeout_member_connect,
        "timeout_member_data": r.timeout_member_data,
        "timeout_tcp_inspect": r.timeout_tcp_inspect,
        "client_ca_tls_container_ref": None,
        "client_authentication": "NONE",
        "client_crl_container_ref": None,
        "allowed_cidrs": list(r.allowed_cidrs) or None,
        "tls_ciphers": None,
        "tls_versions": None,
        "alpn_protocols": None,
        "hsts_max_age": None,
        "hsts_include_subdomains": False,
        "hsts_preload": False,
    }


def pool(r: PoolRecord) -> dict[str, Any]:
    return {
        **_common(r),
        "protocol": r.protocol,
        "lb_algorithm": r.lb_algorithm,
        "session_persistence": r.session_persistence,
        "listeners": [{"id": r.listener_id}] if r.listener_id else [],
        "loadbalancers": [{"id": r.load_balancer_id}],
        "members": _ids(r.member_ids),
        "healthmonitor_id": r.healthmonitor_id,
        "tls_enabled": False,
        "tls_container_ref": None,
        "ca_tls_container_ref": None,
        "crl_container_ref": None,
        "tls_ciphers": None,
        "tls_versions": None,
        "alpn_protocols": None,
    }


def member(r: MemberRecord) -> dict[str, Any]:
    return {
        **_common(r),
        "address": r.address,
        "protocol_port": r.protocol_port,
        "weight": r.weight,
        "backup": r.backup,
        "subnet_id": r.subnet_id,
        "monitor_address": r.monitor_address,
        "monitor_port": r.monitor_port,
        "vnic_type": "normal",
    }


def healthmonitor(r: HealthMonitorRecord) -> dict[str, Any]:
    return {
        **_common(r),
        "type": r.type,
        "delay": r.delay,
        "timeout": r.timeout,
        "max_retries": r.max_retries,
        "max_retries_down": r.max_retries_down,
        "http_method": r.http_method,
        "url_path": r.url_path,
        "expected_codes": r.expected_codes,
        "http_version": r.http_version,
        "domain_name": r.domain_name,
        "pools": [{"id": r.pool_id}],
    }


def l7policy(r: L7PolicyRecord) -> dict[str, Any]:
    return {
        **_common(r),
        "listener_id": r.listener_id,
        "action": r.action,
        "position": r.position,
        "redirect_pool_id": r.redirect_pool_id,
        "redirect_url": r.redirect_url,
        "redirect_prefix": r.redirect_prefix,
        "redirect_http_code": r.redirect_http_code,
        "rules": _ids(r.rule_ids),
    }


def l7rule(r: L7RuleRecord) -> dict[str, Any]:
    return {
        **_common(r),
        "type": r.type,
        "compare_type": r.compare_type,
        "key": r.key,
        "value": r.value,
        "invert": r.invert,
    }


def stats(r: StatsRecord) -> dict[str, Any]:
    return {
        "stats": {
            "bytes_in": r.bytes_in,
            "bytes_out": r.bytes_out,
            "active_connections": r.active_connections,
            "total_connections": r.total_connections,
            "request_errors": r.request_errors,
        }
    }
