"""Volume policy rules: snapshot actions (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, MEMBER, rule

RULES = [
    rule(
        "volume_extension:snapshot_admin_actions:reset_status",
        ADMIN_API,
        "POST /snapshots/{snapshot_id}/action (os-reset_status)",
        doc="Reset status of a snapshot.",
    ),
    rule(
        "snapshot_extension:snapshot_actions:update_snapshot_status",
        MEMBER,
        "POST /snapshots/{snapshot_id}/action (update_snapshot_status)",
        doc="Update database fields of snapshot.",
    ),
    rule(
        "volume_extension:snapshot_admin_actions:force_delete",
        ADMIN_API,
        "POST /snapshots/{snapshot_id}/action (os-force_delete)",
        doc="Force delete a snapshot.",
    ),
]
