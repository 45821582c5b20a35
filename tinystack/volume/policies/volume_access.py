"""Volume policy rules: volume access (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, MEMBER, rule

RULES = [
    rule(
        "volume_extension:volume_type_access",
        MEMBER,
        "GET /types",
        "GET /types/{type_id}",
        "POST /types",
        doc="Show os-volume-type-access:is_public in volume type responses.",
    ),
    rule(
        "volume_extension:volume_type_access:addProjectAccess",
        ADMIN_API,
        "POST /types/{type_id}/action (addProjectAccess)",
        doc="Add volume type access for project.",
    ),
    rule(
        "volume_extension:volume_type_access:removeProjectAccess",
        ADMIN_API,
        "POST /types/{type_id}/action (removeProjectAccess)",
        doc="Remove volume type access for project.",
    ),
    rule(
        "volume_extension:volume_type_access:get_all_for_type",
        ADMIN_API,
        "GET /types/{type_id}/os-volume-type-access",
        doc="List the projects that have access to a private volume type.",
    ),
]
