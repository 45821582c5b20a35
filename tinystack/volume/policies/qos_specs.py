"""Volume policy rules: qos specs (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, rule

RULES = [
    rule(
        "volume_extension:qos_specs_manage:get_all",
        ADMIN_API,
        "GET /qos-specs",
        "GET /qos-specs/{qos_id}/associations",
        doc="List qos specs or list all associations.",
    ),
    rule(
        "volume_extension:qos_specs_manage:get",
        ADMIN_API,
        "GET /qos-specs/{qos_id}",
        doc="Show qos specs.",
    ),
    rule(
        "volume_extension:qos_specs_manage:create",
        ADMIN_API,
        "POST /qos-specs",
        doc="Create qos specs.",
    ),
    rule(
        "volume_extension:qos_specs_manage:update",
        ADMIN_API,
        "PUT /qos-specs/{qos_id}",
        "GET /qos-specs/{qos_id}/disassociate_all",
        "GET /qos-specs/{qos_id}/associate",
        "GET /qos-specs/{qos_id}/disassociate",
        doc="Update qos specs (including updating association).",
    ),
    rule(
        "volume_extension:qos_specs_manage:delete",
        ADMIN_API,
        "DELETE /qos-specs/{qos_id}",
        "PUT /qos-specs/{qos_id}/delete_keys",
        doc="delete qos specs or unset one specified qos key.",
    ),
]
