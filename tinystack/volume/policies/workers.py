"""Volume policy rules: workers (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, rule

RULES = [
    rule("workers:cleanup", ADMIN_API, "POST /workers/cleanup", doc="Clean up workers."),
]
