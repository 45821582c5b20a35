"""Volume policy rules: volume metadata (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, MEMBER, READER, rule

RULES = [
    rule(
        "volume:get_volume_metadata",
        READER,
        "GET /volumes/{volume_id}/metadata",
        "GET /volumes/{volume_id}/metadata/{key}",
        "POST /volumes/{volume_id}/action  (os-show_image_metadata)",
        doc="Show volume's metadata or one specified metadata with a given key.",
    ),
    rule(
        "volume:create_volume_metadata",
        MEMBER,
        "POST /volumes/{volume_id}/metadata",
        doc="Create volume metadata.",
    ),
    rule(
        "volume:update_volume_metadata",
        MEMBER,
        "PUT /volumes/{volume_id}/metadata",
        "PUT /volumes/{volume_id}/metadata/{key}",
        doc="Replace a volume's metadata dictionary or update a single metadatum with a given key.",
    ),
    rule(
        "volume:delete_volume_metadata",
        MEMBER,
        "DELETE /volumes/{volume_id}/metadata/{key}",
        doc="Delete a volume's metadatum with the given key.",
    ),
    rule(
        "volume_extension:volume_image_metadata:show",
        READER,
        "GET /volumes/detail",
        "GET /volumes/{volume_id}",
        doc="Include a volume's image metadata in volume detail responses.",
    ),
    rule(
        "volume_extension:volume_image_metadata:set",
        MEMBER,
        "POST /volumes/{volume_id}/action (os-set_image_metadata)",
        doc="Set image metadata for a volume.",
    ),
    rule(
        "volume_extension:volume_image_metadata:remove",
        MEMBER,
        "POST /volumes/{volume_id}/action (os-unset_image_metadata)",
        doc="Remove specific image metadata from a volume.",
    ),
    rule(
        "volume:update_volume_admin_metadata",
        ADMIN_API,
        "POST /volumes/{volume_id}/action (os-update_readonly_flag)",
        "POST /volumes/{volume_id}/action (os-attach)",
        doc="Update volume admin metadata.",
    ),
]
