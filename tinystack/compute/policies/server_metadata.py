"""Compute policy rules: server metadata (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import PROJECT_MEMBER_OR_ADMIN, PROJECT_READER_OR_ADMIN, rule

RULES = [
    rule(
        "os_compute_api:server-metadata:index",
        PROJECT_READER_OR_ADMIN,
        "GET /servers/{server_id}/metadata",
    ),
    rule(
        "os_compute_api:server-metadata:show",
        PROJECT_READER_OR_ADMIN,
        "GET /servers/{server_id}/metadata/{key}",
    ),
    rule(
        "os_compute_api:server-metadata:create",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/metadata",
    ),
    rule(
        "os_compute_api:server-metadata:update_all",
        PROJECT_MEMBER_OR_ADMIN,
        "PUT /servers/{server_id}/metadata",
    ),
    rule(
        "os_compute_api:server-metadata:update",
        PROJECT_MEMBER_OR_ADMIN,
        "PUT /servers/{server_id}/metadata/{key}",
    ),
    rule(
        "os_compute_api:server-metadata:delete",
        PROJECT_MEMBER_OR_ADMIN,
        "DELETE /servers/{server_id}/metadata/{key}",
    ),
]
