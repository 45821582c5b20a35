"""The building blocks of Aodh's default rules (the secure-RBAC defaults: readers of a
project read its alarms, members change them, admins everything)."""

from __future__ import annotations

from oslo_policy import policy

ADMIN = "rule:context_is_admin"
READER_OR_ADMIN = "rule:project_reader_or_admin"
MEMBER_OR_ADMIN = "rule:project_member_or_admin"

RULES = [
    policy.RuleDefault("context_is_admin", "role:admin"),
    policy.RuleDefault("segregation", ADMIN),
    policy.RuleDefault("admin_or_owner", "rule:context_is_admin or project_id:%(project_id)s"),
    policy.RuleDefault("project_reader", "role:reader and project_id:%(project_id)s"),
    policy.RuleDefault("project_member", "role:member and project_id:%(project_id)s"),
    policy.RuleDefault("project_member_or_admin", "rule:project_member or rule:context_is_admin"),
    policy.RuleDefault("project_reader_or_admin", "rule:project_reader or rule:context_is_admin"),
]


def documented(
    name: str, check: str, description: str, operations: list[tuple[str, str]]
) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name=name,
        check_str=check,
        description=description,
        operations=[{"method": m, "path": p} for m, p in operations],
    )
