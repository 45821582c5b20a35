"""Compute policy rules: shelve (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, PROJECT_MEMBER_OR_ADMIN, rule

RULES = [
    rule(
        "os_compute_api:os-shelve:shelve",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (shelve)",
    ),
    rule(
        "os_compute_api:os-shelve:unshelve",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (unshelve)",
    ),
    rule(
        "os_compute_api:os-shelve:unshelve_to_host",
        ADMIN,
        "POST /servers/{server_id}/action (unshelve)",
    ),
    rule(
        "os_compute_api:os-shelve:shelve_offload",
        ADMIN,
        "POST /servers/{server_id}/action (shelveOffload)",
    ),
]
