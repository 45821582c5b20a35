"""Compute policy rules: server external events (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import SERVICE_OR_ADMIN, rule

RULES = [
    rule(
        "os_compute_api:os-server-external-events:create",
        SERVICE_OR_ADMIN,
        "POST /os-server-external-events",
    ),
]
