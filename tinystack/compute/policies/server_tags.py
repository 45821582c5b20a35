"""Compute policy rules: server tags (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import PROJECT_MEMBER_OR_ADMIN, PROJECT_READER_OR_ADMIN, rule

RULES = [
    rule(
        "os_compute_api:os-server-tags:delete_all",
        PROJECT_MEMBER_OR_ADMIN,
        "DELETE /servers/{server_id}/tags",
    ),
    rule(
        "os_compute_api:os-server-tags:index",
        PROJECT_READER_OR_ADMIN,
        "GET /servers/{server_id}/tags",
    ),
    rule(
        "os_compute_api:os-server-tags:update_all",
        PROJECT_MEMBER_OR_ADMIN,
        "PUT /servers/{server_id}/tags",
    ),
    rule(
        "os_compute_api:os-server-tags:delete",
        PROJECT_MEMBER_OR_ADMIN,
        "DELETE /servers/{server_id}/tags/{tag}",
    ),
    rule(
        "os_compute_api:os-server-tags:update",
        PROJECT_MEMBER_OR_ADMIN,
        "PUT /servers/{server_id}/tags/{tag}",
    ),
    rule(
        "os_compute_api:os-server-tags:show",
        PROJECT_READER_OR_ADMIN,
        "GET /servers/{server_id}/tags/{tag}",
    ),
]
