"""Compute policy rules: availability zone (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, ANY, rule

RULES = [
    rule("os_compute_api:os-availability-zone:list", ANY, "GET /os-availability-zone"),
    rule("os_compute_api:os-availability-zone:detail", ADMIN, "GET /os-availability-zone/detail"),
]
