"""Volume policy rules: group actions (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, MEMBER, rule

RULES = [
    rule("group:delete", MEMBER, "POST /groups/{group_id}/action (delete)", doc="Delete group."),
    rule(
        "group:reset_status",
        ADMIN_API,
        "POST /groups/{group_id}/action (reset_status)",
        doc="Reset status of group.",
    ),
    rule(
        "group:enable_replication",
        MEMBER,
        "POST /groups/{group_id}/action (enable_replication)",
        doc="Enable replication.",
    ),
    rule(
        "group:disable_replication",
        MEMBER,
        "POST /groups/{group_id}/action (disable_replication)",
        doc="Disable replication.",
    ),
    rule(
        "group:failover_replication",
        MEMBER,
        "POST /groups/{group_id}/action (failover_replication)",
        doc="Fail over replication.",
    ),
    rule(
        "group:list_replication_targets",
        MEMBER,
        "POST /groups/{group_id}/action (list_replication_targets)",
        doc="List failover replication.",
    ),
]
