"""Compute policy rules: volumes attachments (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import (
    PROJECT_MEMBER_OR_ADMIN,
    PROJECT_READER_OR_ADMIN,
    SERVICE_OR_ADMIN,
    rule,
)

RULES = [
    rule(
        "os_compute_api:os-volumes-attachments:index",
        PROJECT_READER_OR_ADMIN,
        "GET /servers/{server_id}/os-volume_attachments",
    ),
    rule(
        "os_compute_api:os-volumes-attachments:create",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/os-volume_attachments",
    ),
    rule(
        "os_compute_api:os-volumes-attachments:show",
        PROJECT_READER_OR_ADMIN,
        "GET /servers/{server_id}/os-volume_attachments/{volume_id}",
    ),
    rule(
        "os_compute_api:os-volumes-attachments:update",
        PROJECT_MEMBER_OR_ADMIN,
        "PUT /servers/{server_id}/os-volume_attachments/{volume_id}",
    ),
    rule(
        "os_compute_api:os-volumes-attachments:swap",
        SERVICE_OR_ADMIN,
        "PUT /servers/{server_id}/os-volume_attachments/{volume_id}",
    ),
    rule(
        "os_compute_api:os-volumes-attachments:delete",
        PROJECT_MEMBER_OR_ADMIN,
        "DELETE /servers/{server_id}/os-volume_attachments/{volume_id}",
    ),
]
