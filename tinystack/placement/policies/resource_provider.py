"""Policy rules for /resource_providers."""

from __future__ import annotations

from tinystack.placement.policies.base import ADMIN_OR_SERVICE, documented

PREFIX = "placement:resource_providers:%s"
LIST = PREFIX % "list"
CREATE = PREFIX % "create"
SHOW = PREFIX % "show"
UPDATE = PREFIX % "update"
DELETE = PREFIX % "delete"
_PATH = "/resource_providers/{uuid}"

rules = [
    documented(
        LIST, ADMIN_OR_SERVICE, "List resource providers.", [("GET", "/resource_providers")]
    ),
    documented(
        CREATE, ADMIN_OR_SERVICE, "Create resource provider.", [("POST", "/resource_providers")]
    ),
    documented(SHOW, ADMIN_OR_SERVICE, "Show resource provider.", [("GET", _PATH)]),
    documented(UPDATE, ADMIN_OR_SERVICE, "Update resource provider.", [("PUT", _PATH)]),
    documented(DELETE, ADMIN_OR_SERVICE, "Delete resource provider.", [("DELETE", _PATH)]),
]
