"""FWaaS v2 firewall policy rules: upstream neutron-fwaas's names and secure-RBAC
defaults. Project members manage their own, only admins share;
``insert_rule``/``remove_rule`` change its rule list."""

from __future__ import annotations

from tinystack.network.policies.base import ADMIN_OR_PROJECT_MEMBER, rule, shareable

RULES = [
    *shareable("firewall_policy", "firewall_policies", "firewall policy"),
    rule("insert_rule", ADMIN_OR_PROJECT_MEMBER, "Insert a rule into a firewall policy."),
    rule("remove_rule", ADMIN_OR_PROJECT_MEMBER, "Remove a rule from a firewall policy."),
]
