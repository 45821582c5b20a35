"""Compute policy rules: the volume and snapshot proxy APIs before 2.36 (upstream names and
defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import (
    PROJECT_MEMBER_OR_ADMIN,
    PROJECT_READER_OR_ADMIN,
    rule,
)

P = "os_compute_api:os-volumes:%s"

RULES = [
    rule(P % "list", PROJECT_READER_OR_ADMIN, "GET /os-volumes"),
    rule(P % "create", PROJECT_MEMBER_OR_ADMIN, "POST /os-volumes"),
    rule(P % "detail", PROJECT_READER_OR_ADMIN, "GET /os-volumes/detail"),
    rule(P % "show", PROJECT_READER_OR_ADMIN, "GET /os-volumes/{volume_id}"),
    rule(P % "delete", PROJECT_MEMBER_OR_ADMIN, "DELETE /os-volumes/{volume_id}"),
    rule(P % "snapshots:list", PROJECT_READER_OR_ADMIN, "GET /os-snapshots"),
    rule(P % "snapshots:create", PROJECT_MEMBER_OR_ADMIN, "POST /os-snapshots"),
    rule(P % "snapshots:detail", PROJECT_READER_OR_ADMIN, "GET /os-snapshots/detail"),
    rule(P % "snapshots:show", PROJECT_READER_OR_ADMIN, "GET /os-snapshots/{snapshot_id}"),
    rule(P % "snapshots:delete", PROJECT_MEMBER_OR_ADMIN, "DELETE /os-snapshots/{snapshot_id}"),
]
