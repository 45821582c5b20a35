"""Rules of ``/v2/quotas`` (target: the project whose quotas are read, set or deleted)."""

from __future__ import annotations

from tinystack.alarm.policies.base import ADMIN, READER_OR_ADMIN, documented

GET = "telemetry:get_quotas"
UPDATE = "telemetry:update_quotas"
DELETE = "telemetry:delete_quotas"

RULES = [
    documented(GET, READER_OR_ADMIN, "Show the quotas of a project.", [("GET", "/v2/quotas")]),
    documented(UPDATE, ADMIN, "Set the quotas of a project.", [("POST", "/v2/quotas")]),
    documented(
        DELETE,
        ADMIN,
        "Delete the quotas of a project (back to the defaults).",
        [("DELETE", "/v2/quotas/{project_id}")],
    ),
]
