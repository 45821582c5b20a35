"""Volume policy rules: quotas (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, READER, rule

RULES = [
    rule(
        "volume_extension:quotas:show",
        READER,
        "GET /os-quota-sets/{project_id}",
        "GET /os-quota-sets/{project_id}/default",
        "GET /os-quota-sets/{project_id}?usage=True",
        doc="Show project quota (including usage and default).",
    ),
    rule(
        "volume_extension:quotas:update",
        ADMIN_API,
        "PUT /os-quota-sets/{project_id}",
        doc="Update project quota.",
    ),
    rule(
        "volume_extension:quotas:delete",
        ADMIN_API,
        "DELETE /os-quota-sets/{project_id}",
        doc="Delete project quota.",
    ),
]
