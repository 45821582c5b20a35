"""Volume policy rules: clusters (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, rule

RULES = [
    rule(
        "clusters:get_all", ADMIN_API, "GET /clusters", "GET /clusters/detail", doc="List clusters."
    ),
    rule("clusters:get", ADMIN_API, "GET /clusters/{cluster_id}", doc="Show cluster."),
    rule("clusters:update", ADMIN_API, "PUT /clusters/{cluster_id}", doc="Update cluster."),
]
