"""Compute policy rules: console auth tokens (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, rule

RULES = [
    rule(
        "os_compute_api:os-console-auth-tokens",
        ADMIN,
        "GET /os-console-auth-tokens/{console_token}",
    ),
]
