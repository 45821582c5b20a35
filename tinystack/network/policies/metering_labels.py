"""Metering label rules: upstream Neutron's names and secure-RBAC defaults. Only admins
create and delete labels; project readers see their own and (a departure: upstream's
default hides them) shared ones, which apply to their routers too."""

from __future__ import annotations

from oslo_policy import policy

from tinystack.network.policies.base import ADMIN, ADMIN_OR_PROJECT_READER, any_of, rule

RULES: list[policy.RuleDefault] = [
    policy.RuleDefault(
        "shared_metering_labels",
        "field:metering_labels:shared=True",
        description="Shared metering label.",
    ),
    rule("create_metering_label", ADMIN, "Create a metering label."),
    rule(
        "get_metering_label",
        any_of(ADMIN_OR_PROJECT_READER, "rule:shared_metering_labels"),
        "Get a metering label.",
    ),
    rule("delete_metering_label", ADMIN, "Delete a metering label."),
]
