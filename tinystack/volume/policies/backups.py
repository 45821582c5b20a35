"""Volume policy rules: backups (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, MEMBER, READER, rule

RULES = [
    rule("backup:get_all", READER, "GET /backups", "GET /backups/detail", doc="List backups."),
    rule(
        "backup:backup_project_attribute",
        ADMIN_API,
        "GET /backups/{backup_id}",
        "GET /backups/detail",
        doc="List backups or show backup with project attributes.",
    ),
    rule("backup:create", MEMBER, "POST /backups", doc="Create backup."),
    rule("backup:get", READER, "GET /backups/{backup_id}", doc="Show backup."),
    rule("backup:update", MEMBER, "PUT /backups/{backup_id}", doc="Update backup."),
    rule("backup:delete", MEMBER, "DELETE /backups/{backup_id}", doc="Delete backup."),
    rule("backup:restore", MEMBER, "POST /backups/{backup_id}/restore", doc="Restore backup."),
    rule(
        "backup:backup-import",
        ADMIN_API,
        "POST /backups/{backup_id}/import_record",
        doc="Import backup.",
    ),
    rule(
        "backup:export-import",
        ADMIN_API,
        "POST /backups/{backup_id}/export_record",
        doc="Export backup.",
    ),
]
