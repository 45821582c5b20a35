"""Compute policy rules: evacuate (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, rule

RULES = [
    rule("os_compute_api:os-evacuate", ADMIN, "POST /servers/{server_id}/action (evacuate)"),
]
