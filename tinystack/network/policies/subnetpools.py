"""Subnet pool rules."""

from __future__ import annotations

from oslo_policy import policy

from tinystack.network.policies.base import (
    ADMIN,
    ADMIN_OR_PROJECT_MEMBER,
    ADMIN_OR_PROJECT_READER,
    any_of,
    rule,
)

_VISIBLE = any_of(ADMIN_OR_PROJECT_READER, "rule:shared_subnetpools")

RULES = [
    policy.RuleDefault(
        "shared_subnetpools", "field:subnetpools:shared=True", description="Shared pool."
    ),
    rule("create_subnetpool", ADMIN_OR_PROJECT_MEMBER, "Create a subnet pool."),
    rule("create_subnetpool:shared", ADMIN),
    rule("create_subnetpool:is_default", ADMIN),
    rule("create_subnetpool:tags", ADMIN_OR_PROJECT_MEMBER),
    rule("get_subnetpool", _VISIBLE, "Show a subnet pool."),
    rule("get_subnetpool:tags", _VISIBLE),
    rule("update_subnetpool", ADMIN_OR_PROJECT_MEMBER, "Update a subnet pool."),
    rule("update_subnetpool:is_default", ADMIN),
    rule("update_subnetpool:tags", ADMIN_OR_PROJECT_MEMBER),
    rule("delete_subnetpool", ADMIN_OR_PROJECT_MEMBER, "Delete a subnet pool."),
    rule("delete_subnetpool:tags", ADMIN_OR_PROJECT_MEMBER),
    rule("add_prefixes", ADMIN_OR_PROJECT_MEMBER, "Add prefixes to a pool."),
    rule("remove_prefixes", ADMIN_OR_PROJECT_MEMBER, "Remove prefixes from a pool."),
]
