"""Compute policy rules: security groups, a server's and the proxy API's before 2.36
(upstream names and defaults)."""

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
    rule(
        "os_compute_api:os-security-groups:get",
        PROJECT_READER_OR_ADMIN,
        "GET /os-security-groups",
    ),
    rule(
        "os_compute_api:os-security-groups:show",
        PROJECT_READER_OR_ADMIN,
        "GET /os-security-groups/{security_group_id}",
    ),
    rule(
        "os_compute_api:os-security-groups:create",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /os-security-groups",
    ),
    rule(
        "os_compute_api:os-security-groups:update",
        PROJECT_MEMBER_OR_ADMIN,
        "PUT /os-security-groups/{security_group_id}",
    ),
    rule(
        "os_compute_api:os-security-groups:delete",
        PROJECT_MEMBER_OR_ADMIN,
        "DELETE /os-security-groups/{security_group_id}",
    ),
    rule(
        "os_compute_api:os-security-groups:rule:create",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /os-security-group-rules",
    ),
    rule(
        "os_compute_api:os-security-groups:rule:delete",
        PROJECT_MEMBER_OR_ADMIN,
        "DELETE /os-security-group-rules/{security_group_id}",
    ),
]
