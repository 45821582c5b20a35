"""Volume policy rules: snapshots (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import MEMBER, READER, rule

RULES = [
    rule(
        "volume:get_all_snapshots",
        READER,
        "GET /snapshots",
        "GET /snapshots/detail",
        doc="List snapshots.",
    ),
    rule(
        "volume_extension:extended_snapshot_attributes",
        READER,
        "GET /snapshots/{snapshot_id}",
        "GET /snapshots/detail",
        doc="List or show snapshots with extended attributes.",
    ),
    rule("volume:create_snapshot", MEMBER, "POST /snapshots", doc="Create snapshot."),
    rule("volume:get_snapshot", READER, "GET /snapshots/{snapshot_id}", doc="Show snapshot."),
    rule("volume:update_snapshot", MEMBER, "PUT /snapshots/{snapshot_id}", doc="Update snapshot."),
    rule(
        "volume:delete_snapshot", MEMBER, "DELETE /snapshots/{snapshot_id}", doc="Delete snapshot."
    ),
]
