"""Compute policy rules: deferred delete (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import PROJECT_MEMBER_OR_ADMIN, rule

RULES = [
    rule(
        "os_compute_api:os-deferred-delete:restore",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (restore)",
    ),
    rule(
        "os_compute_api:os-deferred-delete:force",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (forceDelete)",
    ),
]
