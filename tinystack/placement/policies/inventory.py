"""Policy rules for /resource_providers/{uuid}/inventories."""

from __future__ import annotations

from tinystack.placement.policies.base import ADMIN_OR_SERVICE, documented

PREFIX = "placement:resource_providers:inventories:%s"
LIST = PREFIX % "list"
CREATE = PREFIX % "create"
SHOW = PREFIX % "show"
UPDATE = PREFIX % "update"
DELETE = PREFIX % "delete"
_PATH = "/resource_providers/{uuid}/inventories"
_ONE = _PATH + "/{resource_class}"

rules = [
    documented(LIST, ADMIN_OR_SERVICE, "List resource provider inventories.", [("GET", _PATH)]),
    documented(
        CREATE, ADMIN_OR_SERVICE, "Create one resource provider inventory.", [("POST", _PATH)]
    ),
    documented(SHOW, ADMIN_OR_SERVICE, "Show resource provider inventory.", [("GET", _ONE)]),
    documented(
        UPDATE,
        ADMIN_OR_SERVICE,
        "Update resource provider inventory.",
        [("PUT", _PATH), ("PUT", _ONE)],
    ),
    documented(
        DELETE,
        ADMIN_OR_SERVICE,
        "Delete resource provider inventory.",
        [("DELETE", _PATH), ("DELETE", _ONE)],
    ),
]
