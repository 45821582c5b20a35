"""Address scope rules."""

from __future__ import annotations

from oslo_policy import policy

from tinystack.network.policies.base import (
    ADMIN,
    ADMIN_OR_PROJECT_MEMBER,
    PROJECT_READER,
    any_of,
    rule,
)

_VISIBLE = any_of(ADMIN, PROJECT_READER, "rule:shared_address_scopes")

RULES = [
    policy.RuleDefault(
        "shared_address_scopes",
        "field:address_scopes:shared=True",
        description="Shared address scope.",
    ),
    rule("create_address_scope", ADMIN_OR_PROJECT_MEMBER, "Create an address scope."),
    rule("create_address_scope:shared", ADMIN),
    rule("create_address_scope:tags", ADMIN_OR_PROJECT_MEMBER),
    rule("get_address_scope", _VISIBLE, "Show an address scope."),
    rule("get_address_scope:tags", _VISIBLE),
    rule("update_address_scope", ADMIN_OR_PROJECT_MEMBER, "Update an address scope."),
    rule("update_address_scope:shared", ADMIN),
    rule("update_address_scope:tags", ADMIN_OR_PROJECT_MEMBER),
    rule("delete_address_scope", ADMIN_OR_PROJECT_MEMBER, "Delete an address scope."),
    rule("delete_address_scope:tags", ADMIN_OR_PROJECT_MEMBER),
]
