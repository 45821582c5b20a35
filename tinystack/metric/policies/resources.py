"""Rules of ``/v1/resource/{type}``."""

from __future__ import annotations

from tinystack.metric.policies.base import ADMIN_OR_CREATOR, ANYONE, documented

CREATE = "create resource"
GET = "get resource"
LIST = "list resource"
UPDATE = "update resource"
DELETE = "delete resource"
SEARCH = "search resource"
_OWNER = "rule:admin_or_creator or rule:resource_owner"
_PATH = "/v1/resource/{resource_type}"

RULES = [
    documented(CREATE, ANYONE, "Create a new resource", "POST", _PATH),
    documented(GET, _OWNER, "Get a resource", "GET", _PATH + "/{resource_id}"),
    documented(LIST, _OWNER, "List resources", "GET", _PATH),
    documented(UPDATE, ADMIN_OR_CREATOR, "Update a resource", "PATCH", _PATH + "/{resource_id}"),
    documented(DELETE, ADMIN_OR_CREATOR, "Delete a resource", "DELETE", _PATH + "/{resource_id}"),
    documented(SEARCH, _OWNER, "Search resources", "POST", "/v1/search/resource/{resource_type}"),
]
