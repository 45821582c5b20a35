"""Volume policy rules: backup actions (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, rule

RULES = [
    rule(
        "volume_extension:backup_admin_actions:reset_status",
        ADMIN_API,
        "POST /backups/{backup_id}/action (os-reset_status)",
        doc="Reset status of a backup.",
    ),
    rule(
        "volume_extension:backup_admin_actions:force_delete",
        ADMIN_API,
        "POST /backups/{backup_id}/action (os-force_delete)",
        doc="Force delete a backup.",
    ),
]
