"""The building blocks of Gnocchi's default rules."""

from __future__ import annotations

from oslo_policy import policy

ADMIN = "role:admin"
ADMIN_OR_CREATOR = "rule:admin_or_creator"
ANYONE = ""

RULES = [
    policy.RuleDefault("admin_or_creator", "role:admin or project_id:%(created_by_project_id)s"),
    policy.RuleDefault("resource_owner", "project_id:%(project_id)s"),
    policy.RuleDefault("metric_owner", "project_id:%(resource.project_id)s"),
]


def documented(
    name: str, check: str, description: str, method: str, path: str
) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name=name,
        check_str=check,
        description=description,
        operations=[{"method": method, "path": path}],
    )
