"""Rules of ``/v1/archive_policy``."""

from __future__ import annotations

from tinystack.metric.policies.base import ADMIN, ANYONE, documented

CREATE = "create archive policy"
GET = "get archive policy"
LIST = "list archive policy"
UPDATE = "update archive policy"
DELETE = "delete archive policy"
_PATH = "/v1/archive_policy"

RULES = [
    documented(CREATE, ADMIN, "Create a new archive policy", "POST", _PATH),
    documented(GET, ANYONE, "Get an archive policy", "GET", _PATH + "/{name}"),
    documented(LIST, ANYONE, "List archive policies", "GET", _PATH),
    documented(UPDATE, ADMIN, "Update an archive policy", "PATCH", _PATH + "/{name}"),
    documented(DELETE, ADMIN, "Delete an archive policy", "DELETE", _PATH + "/{name}"),
]
