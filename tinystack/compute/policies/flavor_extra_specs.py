"""Compute policy rules: flavor extra specs (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, PROJECT_READER_OR_ADMIN, rule

RULES = [
    rule(
        "os_compute_api:os-flavor-extra-specs:show",
        PROJECT_READER_OR_ADMIN,
        "GET /flavors/{flavor_id}/os-extra_specs/{flavor_extra_spec_key}",
    ),
    rule(
        "os_compute_api:os-flavor-extra-specs:create",
        ADMIN,
        "POST /flavors/{flavor_id}/os-extra_specs/",
    ),
    rule(
        "os_compute_api:os-flavor-extra-specs:update",
        ADMIN,
        "PUT /flavors/{flavor_id}/os-extra_specs/{flavor_extra_spec_key}",
    ),
    rule(
        "os_compute_api:os-flavor-extra-specs:delete",
        ADMIN,
        "DELETE /flavors/{flavor_id}/os-extra_specs/{flavor_extra_spec_key}",
    ),
    rule(
        "os_compute_api:os-flavor-extra-specs:index",
        PROJECT_READER_OR_ADMIN,
        "GET /flavors/{flavor_id}/os-extra_specs/",
        "POST /flavors",
        "GET /flavors/detail",
        "GET /flavors/{flavor_id}",
        "PUT /flavors/{flavor_id}",
    ),
]
