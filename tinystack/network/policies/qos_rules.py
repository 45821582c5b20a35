"""QoS rule rules (upstream's ``*_policy_<type>_rule`` names) and ``get_rule_type``:
admins manage rules, the policy's project reads them; every user lists the rule types, a
type's driver details are for admins."""

from __future__ import annotations

from tinystack.network.policies.base import ADMIN, ADMIN_OR_PROJECT_READER, rule

RULE_TYPES = ("bandwidth_limit", "dscp_marking", "minimum_bandwidth")

RULES = [
    rule("get_rule_type", ADMIN, "Show a QoS rule type's drivers and parameters."),
    *(
        rule(f"{action}_policy_{kind}_rule", check, f"{action.capitalize()} a QoS {kind} rule.")
        for kind in RULE_TYPES
        for action, check in (
            ("get", ADMIN_OR_PROJECT_READER),
            ("create", ADMIN),
            ("update", ADMIN),
            ("delete", ADMIN),
        )
    ),
]
