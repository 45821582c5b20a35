"""Compute policy rules: pause server (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import PROJECT_MEMBER_OR_ADMIN, rule

RULES = [
    rule(
        "os_compute_api:os-pause-server:pause",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (pause)",
    ),
    rule(
        "os_compute_api:os-pause-server:unpause",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (unpause)",
    ),
]
