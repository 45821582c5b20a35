"""Compute policy rules: server groups (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import (
    ADMIN,
    PROJECT_MEMBER_OR_ADMIN,
    PROJECT_READER_OR_ADMIN,
    rule,
)

RULES = [
    rule(
        "os_compute_api:os-server-groups:create", PROJECT_MEMBER_OR_ADMIN, "POST /os-server-groups"
    ),
    rule(
        "os_compute_api:os-server-groups:delete",
        PROJECT_MEMBER_OR_ADMIN,
        "DELETE /os-server-groups/{server_group_id}",
    ),
    rule("os_compute_api:os-server-groups:index", PROJECT_READER_OR_ADMIN, "GET /os-server-groups"),
    rule("os_compute_api:os-server-groups:index:all_projects", ADMIN, "GET /os-server-groups"),
    rule(
        "os_compute_api:os-server-groups:show",
        PROJECT_READER_OR_ADMIN,
        "GET /os-server-groups/{server_group_id}",
    ),
]
