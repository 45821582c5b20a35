"""Volume policy rules: group snapshots (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, MEMBER, READER, rule

RULES = [
    rule(
        "group:get_all_group_snapshots",
        READER,
        "GET /group_snapshots",
        "GET /group_snapshots/detail",
        doc="List group snapshots.",
    ),
    rule(
        "group:create_group_snapshot", MEMBER, "POST /group_snapshots", doc="Create group snapshot."
    ),
    rule(
        "group:get_group_snapshot",
        READER,
        "GET /group_snapshots/{group_snapshot_id}",
        doc="Show group snapshot.",
    ),
    rule(
        "group:delete_group_snapshot",
        MEMBER,
        "DELETE /group_snapshots/{group_snapshot_id}",
        doc="Delete group snapshot.",
    ),
    rule(
        "group:update_group_snapshot",
        MEMBER,
        "PUT /group_snapshots/{group_snapshot_id}",
        doc="Update group snapshot.",
    ),
    rule(
        "group:group_snapshot_project_attribute",
        ADMIN_API,
        "GET /group_snapshots/{group_snapshot_id}",
        "GET /group_snapshots/detail",
        doc="List group snapshots or show group snapshot with project attributes.",
    ),
]
