"""Rules of ``/v1/resource_type``."""

from __future__ import annotations

from tinystack.metric.policies.base import ADMIN, ANYONE, documented

CREATE = "create resource type"
GET = "get resource type"
LIST = "list resource type"
DELETE = "delete resource type"
_PATH = "/v1/resource_type"

RULES = [
    documented(CREATE, ADMIN, "Create a new resource type", "POST", _PATH),
    documented(GET, ANYONE, "Get a resource type", "GET", _PATH + "/{name}"),
    documented(LIST, ANYONE, "List resource types", "GET", _PATH),
    documented(DELETE, ADMIN, "Delete a resource type", "DELETE", _PATH + "/{name}"),
]
