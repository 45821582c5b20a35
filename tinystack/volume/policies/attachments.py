"""Volume policy rules: attachments (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import MEMBER, rule

RULES = [
    rule("volume:attachment_create", MEMBER, "POST /attachments", doc="Create attachment."),
    rule(
        "volume:attachment_update",
        MEMBER,
        "PUT /attachments/{attachment_id}",
        doc="Update attachment.",
    ),
    rule(
        "volume:attachment_delete",
        MEMBER,
        "DELETE /attachments/{attachment_id}",
        doc="Delete attachment.",
    ),
    rule(
        "volume:attachment_complete",
        MEMBER,
        "POST /attachments/{attachment_id}/action (os-complete)",
        doc="Mark a volume attachment process as completed (in-use).",
    ),
    rule(
        "volume:multiattach_bootable_volume",
        MEMBER,
        "POST /attachments",
        doc="Allow multiattach of bootable volumes.",
    ),
]
