"""Compute policy rules: flavor manage (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, rule

RULES = [
    rule("os_compute_api:os-flavor-manage:create", ADMIN, "POST /flavors"),
    rule("os_compute_api:os-flavor-manage:update", ADMIN, "PUT /flavors/{flavor_id}"),
    rule("os_compute_api:os-flavor-manage:delete", ADMIN, "DELETE /flavors/{flavor_id}"),
]
