"""Volume policy rules: snapshot metadata (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import MEMBER, READER, rule

RULES = [
    rule(
        "volume:get_snapshot_metadata",
        READER,
        "GET /snapshots/{snapshot_id}/metadata",
        "GET /snapshots/{snapshot_id}/metadata/{key}",
        doc="Show snapshot's metadata or one specified metadata with a given key.",
    ),
    rule(
        "volume:update_snapshot_metadata",
        MEMBER,
        "POST /snapshots/{snapshot_id}/metadata",
        "PUT /snapshots/{snapshot_id}/metadata/{key}",
        doc="Update snapshot's metadata or one specified metadata with a given key.",
    ),
    rule(
        "volume:delete_snapshot_metadata",
        MEMBER,
        "DELETE /snapshots/{snapshot_id}/metadata/{key}",
        doc="Delete snapshot's specified metadata with a given key.",
    ),
]
