"""QoS policy rules (upstream's ``*_policy`` names): admins manage policies, projects
read their own and shared ones."""

from __future__ import annotations

from oslo_policy import policy

from tinystack.network.policies.base import ADMIN, PROJECT_READER, any_of, rule

_VISIBLE = any_of(ADMIN, PROJECT_READER, "rule:shared_qos_policy")

RULES = [
    policy.RuleDefault(
        "shared_qos_policy",
        "field:policies:shared=True",
        description="Shared QoS policy.",
    ),
    rule("get_policy", _VISIBLE, "Show a QoS policy."),
    rule("get_policy:tags", _VISIBLE),
    rule("create_policy", ADMIN, "Create a QoS policy."),
    rule("create_policy:tags", ADMIN),
    rule("update_policy", ADMIN, "Update a QoS policy."),
    rule("update_policy:tags", ADMIN),
    rule("delete_policy", ADMIN, "Delete a QoS policy."),
    rule("delete_policy:tags", ADMIN),
]
