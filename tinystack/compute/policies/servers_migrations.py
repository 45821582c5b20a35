"""Compute policy rules: servers migrations (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, PROJECT_MANAGER_OR_ADMIN, rule

RULES = [
    rule(
        "os_compute_api:servers:migrations:show",
        ADMIN,
        "GET /servers/{server_id}/migrations/{migration_id}",
    ),
    rule(
        "os_compute_api:servers:migrations:force_complete",
        PROJECT_MANAGER_OR_ADMIN,
        "POST /servers/{server_id}/migrations/{migration_id}/action (force_complete)",
    ),
    rule(
        "os_compute_api:servers:migrations:delete",
        PROJECT_MANAGER_OR_ADMIN,
        "DELETE /servers/{server_id}/migrations/{migration_id}",
    ),
    rule(
        "os_compute_api:servers:migrations:index",
        PROJECT_MANAGER_OR_ADMIN,
        "GET /servers/{server_id}/migrations",
    ),
    rule(
        "os_compute_api:servers:migrations:index:host", ADMIN, "GET /servers/{server_id}/migrations"
    ),
]
