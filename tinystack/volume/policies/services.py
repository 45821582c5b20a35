"""Volume policy rules: services (upstream names and defaults)."""

from __future__ import annotations

from tinystack.volume.policies.base import ADMIN_API, rule

RULES = [
    rule(
        "volume_extension:services:index", ADMIN_API, "GET /os-services", doc="List all services."
    ),
    rule(
        "volume_extension:services:update",
        ADMIN_API,
        "PUT /os-services/{action}",
        doc="Update a service (enable, disable, freeze, thaw, failover_host, logs).",
    ),
    rule("volume:freeze_host", ADMIN_API, "PUT /os-services/freeze", doc="Freeze a backend host."),
    rule("volume:thaw_host", ADMIN_API, "PUT /os-services/thaw", doc="Thaw a backend host."),
    rule(
        "volume:failover_host",
        ADMIN_API,
        "PUT /os-services/failover_host",
        doc="Failover a backend host.",
    ),
]
