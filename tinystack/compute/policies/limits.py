"""Compute policy rules: limits (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, ANY, rule

RULES = [
    rule("os_compute_api:limits", ANY, "GET /limits"),
    rule("os_compute_api:limits:other_project", ADMIN, "GET /limits"),
]
