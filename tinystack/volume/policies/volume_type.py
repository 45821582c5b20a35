"""Volume policy rules: volume type (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, READER, rule

RULES = [
    rule("volume_extension:type_create", ADMIN_API, "POST /types", doc="Create volume type."),
    rule("volume_extension:type_update", ADMIN_API, "PUT /types", doc="Update volume type."),
    rule("volume_extension:type_delete", ADMIN_API, "DELETE /types", doc="Delete volume type."),
    rule(
        "volume_extension:type_get",
        READER,
        "GET /types/{type_id}",
        doc="Get one specific volume type.",
    ),
    rule("volume_extension:type_get_all", READER, "GET /types/", doc="List volume types."),
    rule(
        "volume_extension:access_types_extra_specs",
        READER,
        "GET /types/{type_id}",
        "GET /types",
        doc="Show extra_specs in volume type list and show responses.",
    ),
    rule(
        "volume_extension:access_types_qos_specs_id",
        ADMIN_API,
        "GET /types/{type_id}",
        "GET /types",
        doc="Show qos_specs_id in volume type list and show responses.",
    ),
    rule(
        "volume_extension:volume_type_encryption",
        ADMIN_API,
        doc="DEPRECATED: This rule will be removed in the Yoga release.",
    ),
    rule(
        "volume_extension:volume_type_encryption:create",
        ADMIN_API,
        "POST /types/{type_id}/encryption",
        doc="Create volume type encryption.",
    ),
    rule(
        "volume_extension:volume_type_encryption:get",
        ADMIN_API,
        "GET /types/{type_id}/encryption",
        "GET /types/{type_id}/encryption/{key}",
        doc="Show a volume type's encryption type, show an encryption specs item.",
    ),
    rule(
        "volume_extension:volume_type_encryption:update",
        ADMIN_API,
        "PUT /types/{type_id}/encryption/{encryption_id}",
        doc="Update volume type encryption.",
    ),
    rule(
        "volume_extension:volume_type_encryption:delete",
        ADMIN_API,
        "DELETE /types/{type_id}/encryption/{encryption_id}",
        doc="Delete volume type encryption.",
    ),
]
