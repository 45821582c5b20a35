"""Compute policy rules: the floating IP and network proxy APIs before 2.36 (upstream
names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import (
    ANY,
    PROJECT_MEMBER_OR_ADMIN,
    PROJECT_READER_OR_ADMIN,
    rule,
)

RULES = [
    rule("os_compute_api:os-floating-ips:list", PROJECT_READER_OR_ADMIN, "GET /os-floating-ips"),
    rule(
        "os_compute_api:os-floating-ips:show",
        PROJECT_READER_OR_ADMIN,
        "GET /os-floating-ips/{floating_ip_id}",
    ),
    rule("os_compute_api:os-floating-ips:create", PROJECT_MEMBER_OR_ADMIN, "POST /os-floating-ips"),
    rule(
        "os_compute_api:os-floating-ips:delete",
        PROJECT_MEMBER_OR_ADMIN,
        "DELETE /os-floating-ips/{floating_ip_id}",
    ),
    rule(
        "os_compute_api:os-floating-ips:add",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (addFloatingIp)",
    ),
    rule(
        "os_compute_api:os-floating-ips:remove",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (removeFloatingIp)",
    ),
    rule("os_compute_api:os-floating-ip-pools:list", ANY, "GET /os-floating-ip-pools"),
    rule("os_compute_api:os-networks:list", PROJECT_READER_OR_ADMIN, "GET /os-networks"),
    rule("os_compute_api:os-networks:view", PROJECT_READER_OR_ADMIN, "GET /os-networks/{id}"),
    rule(
        "os_compute_api:os-tenant-networks:list",
        PROJECT_READER_OR_ADMIN,
        "GET /os-tenant-networks",
    ),
    rule(
        "os_compute_api:os-tenant-networks:show",
        PROJECT_READER_OR_ADMIN,
        "GET /os-tenant-networks/{network_id}",
    ),
]
