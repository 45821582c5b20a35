"""Volume policy rules: hosts (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, rule

RULES = [
    rule(
        "volume_extension:hosts",
        ADMIN_API,
        "GET /os-hosts",
        "PUT /os-hosts/{host_name}",
        "GET /os-hosts/{host_id}",
        doc="List, update or show hosts for a project.",
    ),
]
