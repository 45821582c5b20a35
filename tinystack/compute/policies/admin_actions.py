"""Compute policy rules: admin actions (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, rule

RULES = [
    rule(
        "os_compute_api:os-admin-actions:reset_state",
        ADMIN,
        "POST /servers/{server_id}/action (os-resetState)",
    ),
    rule(
        "os_compute_api:os-admin-actions:inject_network_info",
        ADMIN,
        "POST /servers/{server_id}/action (injectNetworkInfo)",
    ),
]
