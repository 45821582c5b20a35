"""Volume policy rules: group types (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, rule

RULES = [
    rule("group:group_types:create", ADMIN_API, "POST /group_types/", doc="Create a group type."),
    rule(
        "group:group_types:update",
        ADMIN_API,
        "PUT /group_types/{group_type_id}",
        doc="Update a group type.",
    ),
    rule(
        "group:group_types:delete",
        ADMIN_API,
        "DELETE /group_types/{group_type_id}",
        doc="Delete a group type.",
    ),
    rule(
        "group:access_group_types_specs",
        ADMIN_API,
        "GET /group_types/{group_type_id}",
        doc="Show group type with type specs attributes.",
    ),
    rule(
        "group:group_types_specs:get",
        ADMIN_API,
        "GET /group_types/{group_type_id}/group_specs/{g_spec_id}",
        doc="Show a group type spec.",
    ),
    rule(
        "group:group_types_specs:get_all",
        ADMIN_API,
        "GET /group_types/{group_type_id}/group_specs",
        doc="List group type specs.",
    ),
    rule(
        "group:group_types_specs:create",
        ADMIN_API,
        "POST /group_types/{group_type_id}/group_specs",
        doc="Create a group type spec.",
    ),
    rule(
        "group:group_types_specs:update",
        ADMIN_API,
        "PUT /group_types/{group_type_id}/group_specs/{g_spec_id}",
        doc="Update a group type spec.",
    ),
    rule(
        "group:group_types_specs:delete",
        ADMIN_API,
        "DELETE /group_types/{group_type_id}/group_specs/{g_spec_id}",
        doc="Delete a group type spec.",
    ),
]
