"""Compute policy rules: aggregates (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, rule

RULES = [
    rule(
        "os_compute_api:os-aggregates:set_metadata",
        ADMIN,
        "POST /os-aggregates/{aggregate_id}/action (set_metadata)",
    ),
    rule(
        "os_compute_api:os-aggregates:add_host",
        ADMIN,
        "POST /os-aggregates/{aggregate_id}/action (add_host)",
    ),
    rule("os_compute_api:os-aggregates:create", ADMIN, "POST /os-aggregates"),
    rule(
        "os_compute_api:os-aggregates:remove_host",
        ADMIN,
        "POST /os-aggregates/{aggregate_id}/action (remove_host)",
    ),
    rule("os_compute_api:os-aggregates:update", ADMIN, "PUT /os-aggregates/{aggregate_id}"),
    rule("os_compute_api:os-aggregates:index", ADMIN, "GET /os-aggregates"),
    rule("os_compute_api:os-aggregates:delete", ADMIN, "DELETE /os-aggregates/{aggregate_id}"),
    rule("os_compute_api:os-aggregates:show", ADMIN, "GET /os-aggregates/{aggregate_id}"),
    rule("compute:aggregates:images", ADMIN, "POST /os-aggregates/{aggregate_id}/images"),
]
