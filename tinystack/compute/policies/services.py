"""Compute policy rules: services (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, rule

RULES = [
    rule("os_compute_api:os-services:list", ADMIN, "GET /os-services"),
    rule("os_compute_api:os-services:update", ADMIN, "PUT /os-services/{service_id}"),
    rule("os_compute_api:os-services:delete", ADMIN, "DELETE /os-services/{service_id}"),
]
