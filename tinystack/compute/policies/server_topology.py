"""Compute policy rules: server topology (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, PROJECT_READER_OR_ADMIN, rule

RULES = [
    rule(
        "compute:server:topology:index",
        PROJECT_READER_OR_ADMIN,
        "GET /servers/{server_id}/topology",
    ),
    rule("compute:server:topology:host:index", ADMIN, "GET /servers/{server_id}/topology"),
]
