"""Volume policy rules: manageable snapshots (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, rule

RULES = [
    rule(
        "snapshot_extension:list_manageable",
        ADMIN_API,
        "GET /manageable_snapshots",
        "GET /manageable_snapshots/detail",
        doc="List (in detail) of snapshots which are available to manage.",
    ),
    rule(
        "snapshot_extension:snapshot_manage",
        ADMIN_API,
        "POST /manageable_snapshots",
        doc="Manage an existing snapshot.",
    ),
    rule(
        "snapshot_extension:snapshot_unmanage",
        ADMIN_API,
        "POST /snapshots/{snapshot_id}/action (os-unmanage)",
        doc="Stop managing a snapshot.",
    ),
]
