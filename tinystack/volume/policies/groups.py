"""Volume policy rules: groups (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, MEMBER, READER, rule

RULES = [
    rule("group:get_all", READER, "GET /groups", "GET /groups/detail", doc="List groups."),
    rule("group:create", MEMBER, "POST /groups", doc="Create group."),
    rule("group:get", READER, "GET /groups/{group_id}", doc="Show group."),
    rule("group:update", MEMBER, "PUT /groups/{group_id}", doc="Update group."),
    rule(
        "group:group_project_attribute",
        ADMIN_API,
        "GET /groups/{group_id}",
        "GET /groups/detail",
        doc="List groups or show group with project attributes.",
    ),
]
