"""Auto-allocated topology rules: a project member gets (or removes) its own."""

from __future__ import annotations

from tinystack.network.policies.base import ADMIN_OR_PROJECT_MEMBER, rule

RULES = [
    rule(
        "get_auto_allocated_topology",
        ADMIN_OR_PROJECT_MEMBER,
        "Get (made on first use) a project's auto-allocated topology.",
    ),
    rule(
        "delete_auto_allocated_topology",
        ADMIN_OR_PROJECT_MEMBER,
        "Delete a project's auto-allocated topology.",
    ),
]
