"""Agent rules: admins only."""

from __future__ import annotations

from tinystack.network.policies.base import ADMIN, rule

RULES = [
    rule("get_agent", ADMIN, "Show an agent."),
    rule("update_agent", ADMIN, "Update an agent."),
    rule("delete_agent", ADMIN, "Delete an agent."),
]
