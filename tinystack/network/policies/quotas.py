"""Quota rules."""

from __future__ import annotations

from tinystack.network.policies.base import ADMIN, ADMIN_OR_PROJECT_MANAGER, rule

RULES = [
    rule("get_quota", ADMIN_OR_PROJECT_MANAGER, "Show a project's quotas."),
    rule("update_quota", ADMIN, "Set a project's quotas."),
    rule("delete_quota", ADMIN, "Reset a project's quotas to the defaults."),
]
