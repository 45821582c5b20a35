"""RBAC policy rules (sharing networks and other objects with projects)."""

from __future__ import annotations

from tinystack.network.policies.base import (
    ADMIN_OR_PROJECT_MEMBER,
    ADMIN_OR_PROJECT_READER,
    rule,
)

RULES = [
    rule("create_rbac_policy", ADMIN_OR_PROJECT_MEMBER, "Create an RBAC policy."),
    rule("create_rbac_policy:target_tenant", ADMIN_OR_PROJECT_MEMBER),
    rule("update_rbac_policy", ADMIN_OR_PROJECT_MEMBER, "Update an RBAC policy."),
    rule("update_rbac_policy:target_tenant", ADMIN_OR_PROJECT_MEMBER),
    rule("get_rbac_policy", ADMIN_OR_PROJECT_READER, "Show an RBAC policy."),
    rule("delete_rbac_policy", ADMIN_OR_PROJECT_MEMBER, "Delete an RBAC policy."),
]
