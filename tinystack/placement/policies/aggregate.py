"""Policy rules for /resource_providers/{uuid}/aggregates."""

from __future__ import annotations

from tinystack.placement.policies.base import ADMIN_OR_SERVICE, documented

PREFIX = "placement:resource_providers:aggregates:%s"
LIST = PREFIX % "list"
UPDATE = PREFIX % "update"
_PATH = "/resource_providers/{uuid}/aggregates"

rules = [
    documented(LIST, ADMIN_OR_SERVICE, "List resource provider aggregates.", [("GET", _PATH)]),
    documented(UPDATE, ADMIN_OR_SERVICE, "Update resource provider aggregates.", [("PUT", _PATH)]),
]
