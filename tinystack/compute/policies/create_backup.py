"""Compute policy rules: create backup (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import PROJECT_MEMBER_OR_ADMIN, rule

RULES = [
    rule(
        "os_compute_api:os-create-backup",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (createBackup)",
    ),
]
