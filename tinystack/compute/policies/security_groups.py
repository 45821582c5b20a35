"""Compute policy rules: a server's security groups (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import PROJECT_MEMBER_OR_ADMIN, PROJECT_READER_OR_ADMIN, rule

RULES = [
    rule(
        "os_compute_api:os-security-groups:list",
        PROJECT_READER_OR_ADMIN,
        "GET /servers/{server_id}/os-security-groups",
    ),
    rule(
        "os_compute_api:os-security-groups:add",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (addSecurityGroup)",
    ),
    rule(
        "os_compute_api:os-security-groups:remove",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (removeSecurityGroup)",
    ),
]
