"""Policy rules for /resource_classes."""

from __future__ import annotations

from tinystack.placement.policies.base import ADMIN_OR_SERVICE, documented

PREFIX = "placement:resource_classes:%s"
LIST = PREFIX % "list"
CREATE = PREFIX % "create"
SHOW = PREFIX % "show"
UPDATE = PREFIX % "update"
DELETE = PREFIX % "delete"
_PATH = "/resource_classes/{name}"

rules = [
    documented(LIST, ADMIN_OR_SERVICE, "List resource classes.", [("GET", "/resource_classes")]),
    documented(CREATE, ADMIN_OR_SERVICE, "Create resource class.", [("POST", "/resource_classes")]),
    documented(SHOW, ADMIN_OR_SERVICE, "Show resource class.", [("GET", _PATH)]),
    documented(UPDATE, ADMIN_OR_SERVICE, "Update resource class.", [("PUT", _PATH)]),
    documented(DELETE, ADMIN_OR_SERVICE, "Delete resource class.", [("DELETE", _PATH)]),
]
