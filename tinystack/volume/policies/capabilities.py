"""Volume policy rules: capabilities (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, rule

RULES = [
    rule(
        "volume_extension:capabilities",
        ADMIN_API,
        "GET /capabilities/{host_name}",
        doc="Show backend capabilities.",
    ),
]
