"""Compute policy rules: suspend server (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import PROJECT_MEMBER_OR_ADMIN, rule

RULES = [
    rule(
        "os_compute_api:os-suspend-server:resume",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (resume)",
    ),
    rule(
        "os_compute_api:os-suspend-server:suspend",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (suspend)",
    ),
]
