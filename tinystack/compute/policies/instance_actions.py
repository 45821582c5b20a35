"""Compute policy rules: instance actions (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, PROJECT_READER_OR_ADMIN, rule

RULES = [
    rule(
        "os_compute_api:os-instance-actions:events:details",
        ADMIN,
        "GET /servers/{server_id}/os-instance-actions/{request_id}",
    ),
    rule(
        "os_compute_api:os-instance-actions:events",
        ADMIN,
        "GET /servers/{server_id}/os-instance-actions/{request_id}",
    ),
    rule(
        "os_compute_api:os-instance-actions:list",
        PROJECT_READER_OR_ADMIN,
        "GET /servers/{server_id}/os-instance-actions",
    ),
    rule(
        "os_compute_api:os-instance-actions:show",
        PROJECT_READER_OR_ADMIN,
        "GET /servers/{server_id}/os-instance-actions/{request_id}",
    ),
]
