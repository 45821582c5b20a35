"""Security group rules (the policy kind): groups may be shared through RBAC."""

from __future__ import annotations

from oslo_policy import policy

from tinystack.network.policies.base import (
    ADMIN_OR_PROJECT_MEMBER,
    ADMIN_OR_PROJECT_READER,
    any_of,
    rule,
)

_VISIBLE = any_of(ADMIN_OR_PROJECT_READER, "rule:shared_security_group")

RULES = [
    policy.RuleDefault(
        "admin_or_sg_owner",
        "rule:context_is_admin or project_id:%(security_group:project_id)s",
        description="Admin or owner of the security group.",
    ),
    policy.RuleDefault(
        "admin_owner_or_sg_owner",
        "rule:owner or rule:admin_or_sg_owner",
        description="Owner, admin or owner of the security group.",
    ),
    policy.RuleDefault(
        "shared_security_group",
        "field:security_groups:shared=True",
        description="Shared security group.",
    ),
    rule("create_security_group", ADMIN_OR_PROJECT_MEMBER, "Create a security group."),
    rule("create_security_group:tags", ADMIN_OR_PROJECT_MEMBER),
    rule("get_security_group", _VISIBLE, "Show a security group."),
    rule("get_security_group:tags", _VISIBLE),
    rule("update_security_group", ADMIN_OR_PROJECT_MEMBER, "Update a security group."),
    rule("update_security_group:tags", ADMIN_OR_PROJECT_MEMBER),
    rule("delete_security_group", ADMIN_OR_PROJECT_MEMBER, "Delete a security group."),
    rule("delete_security_group:tags", ADMIN_OR_PROJECT_MEMBER),
]
