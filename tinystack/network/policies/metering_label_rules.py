"""Metering label rule rules: upstream Neutron's names and secure-RBAC defaults. Only
admins create and delete rules; project readers see the rules of their labels."""

from __future__ import annotations

from oslo_policy import policy

from tinystack.network.policies.base import ADMIN, ADMIN_OR_PROJECT_READER, rule

RULES: list[policy.RuleDefault] = [
    rule("create_metering_label_rule", ADMIN, "Create a metering label rule."),
    rule("get_metering_label_rule", ADMIN_OR_PROJECT_READER, "Get a metering label rule."),
    rule("delete_metering_label_rule", ADMIN, "Delete a metering label rule."),
]
