"""Compute policy rules: simple tenant usage (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, PROJECT_READER_OR_ADMIN, rule

RULES = [
    rule(
        "os_compute_api:os-simple-tenant-usage:show",
        PROJECT_READER_OR_ADMIN,
        "GET /os-simple-tenant-usage/{tenant_id}",
    ),
    rule("os_compute_api:os-simple-tenant-usage:list", ADMIN, "GET /os-simple-tenant-usage"),
]
