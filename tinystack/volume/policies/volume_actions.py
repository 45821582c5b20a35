"""Volume policy rules: volume actions (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, MEMBER, rule

RULES = [
    rule(
        "volume:extend",
        MEMBER,
        "POST /volumes/{volume_id}/action (os-extend)",
        doc="Extend a volume.",
    ),
    rule(
        "volume:extend_attached_volume",
        MEMBER,
        "POST /volumes/{volume_id}/action (os-extend)",
        doc="Extend a attached volume.",
    ),
    rule(
        "volume_extension:volume_admin_actions:extend_volume_completion",
        ADMIN_API,
        "POST /volumes/{volume_id}/action (os-extend_volume_completion)",
        doc="Complete a volume extend operation.",
    ),
    rule(
        "volume:revert_to_snapshot",
        MEMBER,
        "POST /volumes/{volume_id}/action (revert)",
        doc="Revert a volume to a snapshot.",
    ),
    rule(
        "volume_extension:volume_admin_actions:reset_status",
        ADMIN_API,
        "POST /volumes/{volume_id}/action (os-reset_status)",
        doc="Reset status of a volume.",
    ),
    rule(
        "volume:retype",
        MEMBER,
        "POST /volumes/{volume_id}/action (os-retype)",
        doc="Retype a volume.",
    ),
    rule(
        "volume:update_readonly_flag",
        MEMBER,
        "POST /volumes/{volume_id}/action (os-update_readonly_flag)",
        doc="Update a volume's readonly flag.",
    ),
    rule(
        "volume_extension:volume_admin_actions:force_delete",
        ADMIN_API,
        "POST /volumes/{volume_id}/action (os-force_delete)",
        doc="Force delete a volume.",
    ),
    rule(
        "volume_extension:volume_actions:upload_public",
        ADMIN_API,
        "POST /volumes/{volume_id}/action (os-volume_upload_image)",
        doc="Upload a volume to image with public visibility.",
    ),
    rule(
        "volume_extension:volume_actions:upload_image",
        MEMBER,
        "POST /volumes/{volume_id}/action (os-volume_upload_image)",
        doc="Upload a volume to image.",
    ),
    rule(
        "volume_extension:volume_admin_actions:force_detach",
        ADMIN_API,
        "POST /volumes/{volume_id}/action (os-force_detach)",
        doc="Force detach a volume.",
    ),
    rule(
        "volume_extension:volume_admin_actions:migrate_volume",
        ADMIN_API,
        "POST /volumes/{volume_id}/action (os-migrate_volume)",
        doc="migrate a volume to a specified host.",
    ),
    rule(
        "volume_extension:volume_admin_actions:migrate_volume_completion",
        ADMIN_API,
        "POST /volumes/{volume_id}/action (os-migrate_volume_completion)",
        doc="Complete a volume migration.",
    ),
    rule(
        "volume_extension:volume_actions:initialize_connection",
        MEMBER,
        "POST /volumes/{volume_id}/action (os-initialize_connection)",
        doc="Initialize volume attachment.",
    ),
    rule(
        "volume_extension:volume_actions:terminate_connection",
        MEMBER,
        "POST /volumes/{volume_id}/action (os-terminate_connection)",
        doc="Terminate volume attachment.",
    ),
    rule(
        "volume_extension:volume_actions:roll_detaching",
        MEMBER,
        "POST /volumes/{volume_id}/action (os-roll_detaching)",
        doc="Roll back volume status to 'in-use'.",
    ),
    rule(
        "volume_extension:volume_actions:reserve",
        MEMBER,
        "POST /volumes/{volume_id}/action (os-reserve)",
        doc="Mark volume as reserved.",
    ),
    rule(
        "volume_extension:volume_actions:unreserve",
        MEMBER,
        "POST /volumes/{volume_id}/action (os-unreserve)",
        doc="Unmark volume as reserved.",
    ),
    rule(
        "volume_extension:volume_actions:begin_detaching",
        MEMBER,
        "POST /volumes/{volume_id}/action (os-begin_detaching)",
        doc="Begin detach volumes.",
    ),
    rule(
        "volume_extension:volume_actions:attach",
        MEMBER,
        "POST /volumes/{volume_id}/action (os-attach)",
        doc="Add attachment metadata.",
    ),
    rule(
        "volume_extension:volume_actions:detach",
        MEMBER,
        "POST /volumes/{volume_id}/action (os-detach)",
        doc="Clear attachment metadata.",
    ),
    rule(
        "volume:reimage",
        MEMBER,
        "POST /volumes/{volume_id}/action (os-reimage)",
        doc="Reimage a volume in 'available' or 'error' status.",
    ),
    rule(
        "volume:reimage_reserved",
        MEMBER,
        "POST /volumes/{volume_id}/action (os-reimage)",
        doc="Reimage a volume in 'reserved' status.",
    ),
]
