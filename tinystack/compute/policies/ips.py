"""Compute policy rules: ips (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import PROJECT_READER_OR_ADMIN, rule

RULES = [
    rule(
        "os_compute_api:ips:show",
        PROJECT_READER_OR_ADMIN,
        "GET /servers/{server_id}/ips/{network_label}",
    ),
    rule("os_compute_api:ips:index", PROJECT_READER_OR_ADMIN, "GET /servers/{server_id}/ips"),
]
