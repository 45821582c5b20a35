"""Compute policy rules: attach interfaces (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import PROJECT_MEMBER_OR_ADMIN, PROJECT_READER_OR_ADMIN, rule

RULES = [
    rule(
        "os_compute_api:os-attach-interfaces:list",
        PROJECT_READER_OR_ADMIN,
        "GET /servers/{server_id}/os-interface",
    ),
    rule(
        "os_compute_api:os-attach-interfaces:show",
        PROJECT_READER_OR_ADMIN,
        "GET /servers/{server_id}/os-interface/{port_id}",
    ),
    rule(
        "os_compute_api:os-attach-interfaces:create",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/os-interface",
    ),
    rule(
        "os_compute_api:os-attach-interfaces:delete",
        PROJECT_MEMBER_OR_ADMIN,
        "DELETE /servers/{server_id}/os-interface/{port_id}",
    ),
]
