"""Security group rule rules: whoever owns the group manages its rules."""

from __future__ import annotations

from oslo_policy import policy

from tinystack.network.policies.base import (
    ADMIN_OR_SG_OWNER_MEMBER,
    ADMIN_OR_SG_OWNER_READER,
    rule,
)

RULES = [
    policy.RuleDefault(
        "rule_default_sg",
        "field:security_group_rules:belongs_to_default_sg=True",
        description="Rule of a default security group.",
    ),
    rule("create_security_group_rule", ADMIN_OR_SG_OWNER_MEMBER, "Create a rule."),
    rule("get_security_group_rule", ADMIN_OR_SG_OWNER_READER, "Show a rule."),
    rule("delete_security_group_rule", ADMIN_OR_SG_OWNER_MEMBER, "Delete a rule."),
]
