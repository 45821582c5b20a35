"""Compute policy rules: extended server attributes (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, rule

RULES = [
    rule(
        "os_compute_api:os-extended-server-attributes",
        ADMIN,
        "GET /servers/{id}",
        "GET /servers/detail",
        "PUT /servers/{server_id}",
        "POST /servers/{server_id}/action (rebuild)",
    ),
]
