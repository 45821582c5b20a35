"""Compute policy rules: migrations (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, PROJECT_MANAGER_OR_ADMIN, rule

RULES = [
    rule("os_compute_api:os-migrations:index", PROJECT_MANAGER_OR_ADMIN, "GET /os-migrations"),
    rule("os_compute_api:os-migrations:index:all_projects", ADMIN, "GET /os-migrations"),
    rule("os_compute_api:os-migrations:index:host", ADMIN, "GET /os-migrations"),
]
