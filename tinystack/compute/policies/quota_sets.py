"""Compute policy rules: quota sets (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, ANY, PROJECT_READER_OR_ADMIN, rule

RULES = [
    rule("os_compute_api:os-quota-sets:update", ADMIN, "PUT /os-quota-sets/{tenant_id}"),
    rule("os_compute_api:os-quota-sets:defaults", ANY, "GET /os-quota-sets/{tenant_id}/defaults"),
    rule(
        "os_compute_api:os-quota-sets:show",
        PROJECT_READER_OR_ADMIN,
        "GET /os-quota-sets/{tenant_id}",
    ),
    rule("os_compute_api:os-quota-sets:delete", ADMIN, "DELETE /os-quota-sets/{tenant_id}"),
    rule(
        "os_compute_api:os-quota-sets:detail",
        PROJECT_READER_OR_ADMIN,
        "GET /os-quota-sets/{tenant_id}/detail",
    ),
]
