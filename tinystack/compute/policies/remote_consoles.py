"""Compute policy rules: remote consoles (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import PROJECT_MEMBER_OR_ADMIN, rule

RULES = [
    rule(
        "os_compute_api:os-remote-consoles",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (os-getSerialConsole)",
        "POST /servers/{server_id}/action (os-getSPICEConsole)",
        "POST /servers/{server_id}/action (os-getVNCConsole)",
        "POST /servers/{server_id}/remote-consoles",
    ),
]
