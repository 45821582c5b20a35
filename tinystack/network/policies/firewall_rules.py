"""FWaaS v2 firewall rule rules: upstream neutron-fwaas's names and secure-RBAC
defaults. Project members manage their own, only admins share; visible: own or shared."""

from __future__ import annotations

from tinystack.network.policies.base import shareable

RULES = shareable("firewall_rule", "firewall_rules", "firewall rule")
