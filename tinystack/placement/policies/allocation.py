"""Policy rules for allocations."""

from __future__ import annotations

from tinystack.placement.policies.base import ADMIN_OR_SERVICE, documented

RP_ALLOC_LIST = "placement:resource_providers:allocations:list"
ALLOC_PREFIX = "placement:allocations:%s"
ALLOC_LIST = ALLOC_PREFIX % "list"
ALLOC_MANAGE = ALLOC_PREFIX % "manage"
ALLOC_UPDATE = ALLOC_PREFIX % "update"
ALLOC_DELETE = ALLOC_PREFIX % "delete"
_PATH = "/allocations/{consumer_uuid}"

rules = [
    documented(ALLOC_MANAGE, ADMIN_OR_SERVICE, "Manage allocations.", [("POST", "/allocations")]),
    documented(ALLOC_LIST, ADMIN_OR_SERVICE, "List allocations.", [("GET", _PATH)]),
    documented(ALLOC_UPDATE, ADMIN_OR_SERVICE, "Update allocations.", [("PUT", _PATH)]),
    documented(ALLOC_DELETE, ADMIN_OR_SERVICE, "Delete allocations.", [("DELETE", _PATH)]),
    documented(
        RP_ALLOC_LIST,
        ADMIN_OR_SERVICE,
        "List resource provider allocations.",
        [("GET", "/resource_providers/{uuid}/allocations")],
    ),
]
