"""Volume policy rules: manageable volumes (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, rule

RULES = [
    rule(
        "volume_extension:list_manageable",
        ADMIN_API,
        "GET /manageable_volumes",
        "GET /manageable_volumes/detail",
        doc="List (in detail) of volumes which are available to manage.",
    ),
    rule(
        "volume_extension:volume_manage",
        ADMIN_API,
        "POST /manageable_volumes",
        doc="Manage existing volumes.",
    ),
    rule(
        "volume_extension:volume_unmanage",
        ADMIN_API,
        "POST /volumes/{volume_id}/action (os-unmanage)",
        doc="Stop managing a volume.",
    ),
]
