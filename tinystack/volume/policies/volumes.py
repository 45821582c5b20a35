"""Volume policy rules: volumes (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, MEMBER, READER, rule

RULES = [
    rule("volume:create", MEMBER, "POST /volumes", doc="Create volume."),
    rule("volume:create_from_image", MEMBER, "POST /volumes", doc="Create volume from image."),
    rule("volume:get", READER, "GET /volumes/{volume_id}", doc="Show volume."),
    rule(
        "volume:get_all",
        READER,
        "GET /volumes",
        "GET /volumes/detail",
        "GET /volumes/summary",
        doc="List volumes or get summary of volumes.",
    ),
    rule(
        "volume:update",
        MEMBER,
        "PUT /volumes",
        "POST /volumes/{volume_id}/action (os-set_bootable)",
        doc="Update volume or update a volume's bootable status.",
    ),
    rule("volume:delete", MEMBER, "DELETE /volumes/{volume_id}", doc="Delete volume."),
    rule(
        "volume:force_delete",
        ADMIN_API,
        "DELETE /volumes/{volume_id}",
        doc="Force Delete a volume.",
    ),
    rule(
        "volume_extension:volume_host_attribute",
        ADMIN_API,
        "GET /volumes/{volume_id}",
        "GET /volumes/detail",
        doc="List or show volume with host attribute.",
    ),
    rule(
        "volume_extension:volume_tenant_attribute",
        READER,
        "GET /volumes/{volume_id}",
        "GET /volumes/detail",
        doc="List or show volume with tenant attribute.",
    ),
    rule(
        "volume_extension:volume_mig_status_attribute",
        ADMIN_API,
        "GET /volumes/{volume_id}",
        "GET /volumes/detail",
        doc="List or show volume with migration status attribute.",
    ),
    rule(
        "volume_extension:volume_encryption_metadata",
        READER,
        "GET /volumes/{volume_id}/encryption",
        "GET /volumes/{volume_id}/encryption/{encryption_key}",
        doc="Show volume's encryption metadata.",
    ),
    rule("volume:multiattach", MEMBER, "POST /volumes", doc="Create multiattach capable volume."),
]
