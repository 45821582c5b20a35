"""Segment rules: upstream Neutron's names and defaults (admin only, reading included)."""

from __future__ import annotations

from oslo_policy import policy

from tinystack.network.policies.base import ADMIN, rule

RULES: list[policy.RuleDefault] = [
    rule("create_segment", ADMIN, "Create a segment."),
    rule("create_segment:tags", ADMIN),
    rule("get_segment", ADMIN, "Get a segment."),
    rule("get_segment:tags", ADMIN),
    rule("update_segment", ADMIN, "Update a segment."),
    rule("update_segment:tags", ADMIN),
    rule("delete_segment", ADMIN, "Delete a segment."),
    rule("delete_segment:tags", ADMIN),
]
