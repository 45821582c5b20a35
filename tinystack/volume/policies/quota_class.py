"""Volume policy rules: quota class (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, rule

RULES = [
    rule(
        "volume_extension:quota_classes:get",
        ADMIN_API,
        "GET /os-quota-class-sets/{project_id}",
        doc="Show project quota class.",
    ),
    rule(
        "volume_extension:quota_classes:update",
        ADMIN_API,
        "PUT /os-quota-class-sets/{project_id}",
        doc="Update project quota class.",
    ),
]
