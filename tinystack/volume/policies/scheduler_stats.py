"""Volume policy rules: scheduler stats (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, rule

RULES = [
    rule(
        "scheduler_extension:scheduler_stats:get_pools",
        ADMIN_API,
        "GET /scheduler-stats/get_pools",
        doc="List all backend pools.",
    ),
]
