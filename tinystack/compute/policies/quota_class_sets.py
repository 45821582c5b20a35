"""Compute policy rules: quota class sets (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, rule

RULES = [
    rule(
        "os_compute_api:os-quota-class-sets:show", ADMIN, "GET /os-quota-class-sets/{quota_class}"
    ),
    rule(
        "os_compute_api:os-quota-class-sets:update", ADMIN, "PUT /os-quota-class-sets/{quota_class}"
    ),
]
