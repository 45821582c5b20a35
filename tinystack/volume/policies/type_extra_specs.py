"""Volume policy rules: type extra specs (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, READER, rule

RULES = [
    rule(
        "volume_extension:types_extra_specs:index",
        READER,
        "GET /types/{type_id}/extra_specs",
        doc="List type extra specs.",
    ),
    rule(
        "volume_extension:types_extra_specs:create",
        ADMIN_API,
        "POST /types/{type_id}/extra_specs",
        doc="Create type extra specs.",
    ),
    rule(
        "volume_extension:types_extra_specs:show",
        READER,
        "GET /types/{type_id}/extra_specs/{extra_spec_key}",
        doc="Show one specified type extra specs.",
    ),
    rule(
        "volume_extension:types_extra_specs:read_sensitive",
        ADMIN_API,
        "GET /types",
        "GET /types/{type_id}",
        "GET /types/{type_id}/extra_specs",
        "GET /types/{type_id}/extra_specs/{extra_spec_key}",
        doc="Show extra specs that may reveal deployment details to end users.",
    ),
    rule(
        "volume_extension:types_extra_specs:update",
        ADMIN_API,
        "PUT /types/{type_id}/extra_specs/{extra_spec_key}",
        doc="Update type extra specs.",
    ),
    rule(
        "volume_extension:types_extra_specs:delete",
        ADMIN_API,
        "DELETE /types/{type_id}/extra_specs/{extra_spec_key}",
        doc="Delete type extra specs.",
    ),
]
