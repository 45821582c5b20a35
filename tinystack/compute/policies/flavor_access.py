"""Compute policy rules: flavor access (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, rule

RULES = [
    rule(
        "os_compute_api:os-flavor-access:add_tenant_access",
        ADMIN,
        "POST /flavors/{flavor_id}/action (addTenantAccess)",
    ),
    rule(
        "os_compute_api:os-flavor-access:remove_tenant_access",
        ADMIN,
        "POST /flavors/{flavor_id}/action (removeTenantAccess)",
    ),
    rule("os_compute_api:os-flavor-access", ADMIN, "GET /flavors/{flavor_id}/os-flavor-access"),
]
