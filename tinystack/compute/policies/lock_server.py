"""Compute policy rules: lock server (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, PROJECT_MEMBER_OR_ADMIN, rule

RULES = [
    rule(
        "os_compute_api:os-lock-server:lock",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (lock)",
    ),
    rule(
        "os_compute_api:os-lock-server:unlock",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (unlock)",
    ),
    rule(
        "os_compute_api:os-lock-server:unlock:unlock_override",
        ADMIN,
        "POST /servers/{server_id}/action (unlock)",
    ),
]
