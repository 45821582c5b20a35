"""Volume policy rules: limits (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import READER, rule

RULES = [
    rule(
        "limits_extension:used_limits",
        READER,
        "GET /limits",
        doc="Show limits with used limit attributes.",
    ),
]
