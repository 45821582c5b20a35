"""Volume policy rules: group snapshot actions (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, rule

RULES = [
    rule(
        "group:reset_group_snapshot_status",
        ADMIN_API,
        "POST /group_snapshots/{g_snapshot_id}/action (reset_status)",
        doc="Reset status of group snapshot.",
    ),
]
