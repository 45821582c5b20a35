"""Rules of ``/v1/archive_policy_rule``."""

from __future__ import annotations

from tinystack.metric.policies.base import ADMIN, ANYONE, documented

CREATE = "create archive policy rule"
GET = "get archive policy rule"
LIST = "list archive policy rule"
UPDATE = "update archive policy rule"
DELETE = "delete archive policy rule"
_PATH = "/v1/archive_policy_rule"

RULES = [
    documented(CREATE, ADMIN, "Create a new archive policy rule", "POST", _PATH),
    documented(GET, ANYONE, "Get an archive policy rule", "GET", _PATH + "/{name}"),
    documented(LIST, ANYONE, "List archive policy rules", "GET", _PATH),
    documented(UPDATE, ADMIN, "Update an archive policy rule", "PATCH", _PATH + "/{name}"),
    documented(DELETE, ADMIN, "Delete an archive policy rule", "DELETE", _PATH + "/{name}"),
]
