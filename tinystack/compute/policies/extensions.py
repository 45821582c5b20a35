"""Compute policy rules: the (deprecated) extensions list (upstream name and default)."""

from __future__ import annotations

from tinystack.compute.policies.base import ANY, rule

RULES = [rule("os_compute_api:extensions", ANY, "GET /extensions", "GET /extensions/{alias}")]
