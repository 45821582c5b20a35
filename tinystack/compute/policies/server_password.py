"""Compute policy rules: server password (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import PROJECT_MEMBER_OR_ADMIN, PROJECT_READER_OR_ADMIN, rule

RULES = [
    rule(
        "os_compute_api:os-server-password:show",
        PROJECT_READER_OR_ADMIN,
        "GET /servers/{server_id}/os-server-password",
    ),
    rule(
        "os_compute_api:os-server-password:clear",
        PROJECT_MEMBER_OR_ADMIN,
        "DELETE /servers/{server_id}/os-server-password",
    ),
]
