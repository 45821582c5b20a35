"""Compute policy rules: migrate server (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, PROJECT_MANAGER_OR_ADMIN, rule

RULES = [
    rule(
        "os_compute_api:os-migrate-server:migrate",
        PROJECT_MANAGER_OR_ADMIN,
        "POST /servers/{server_id}/action (migrate)",
    ),
    rule(
        "os_compute_api:os-migrate-server:migrate:host",
        ADMIN,
        "POST /servers/{server_id}/action (migrate)",
    ),
    rule(
        "os_compute_api:os-migrate-server:migrate_live",
        PROJECT_MANAGER_OR_ADMIN,
        "POST /servers/{server_id}/action (os-migrateLive)",
    ),
    rule(
        "os_compute_api:os-migrate-server:migrate_live:host",
        ADMIN,
        "POST /servers/{server_id}/action (os-migrateLive)",
    ),
]
