"""Volume policy rules: default types (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, rule

RULES = [
    rule(
        "volume_extension:default_set_or_update",
        ADMIN_API,
        "PUT /default-types",
        doc="Set or update default volume type.",
    ),
    rule(
        "volume_extension:default_get",
        ADMIN_API,
        "GET /default-types/{project-id}",
        doc="Get default types.",
    ),
    rule(
        "volume_extension:default_get_all",
        ADMIN_API,
        "GET /default-types/",
        doc="Get all default types.",
    ),
    rule(
        "volume_extension:default_unset",
        ADMIN_API,
        "DELETE /default-types/{project-id}",
        doc="Unset default type.",
    ),
]
