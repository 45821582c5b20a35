"""Compute policy rules: server diagnostics (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, rule

RULES = [
    rule("os_compute_api:os-server-diagnostics", ADMIN, "GET /servers/{server_id}/diagnostics"),
]
