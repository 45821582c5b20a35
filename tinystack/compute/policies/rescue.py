"""Compute policy rules: rescue (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import PROJECT_MEMBER_OR_ADMIN, rule

RULES = [
    rule(
        "os_compute_api:os-rescue",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (rescue)",
    ),
    rule(
        "os_compute_api:os-unrescue",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (unrescue)",
    ),
]
