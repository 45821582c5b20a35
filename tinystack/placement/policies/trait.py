"""Policy rules for /traits and /resource_providers/{uuid}/traits."""

from __future__ import annotations

from tinystack.placement.policies.base import ADMIN_OR_SERVICE, documented

RP_TRAIT_PREFIX = "placement:resource_providers:traits:%s"
RP_TRAIT_LIST = RP_TRAIT_PREFIX % "list"
RP_TRAIT_UPDATE = RP_TRAIT_PREFIX % "update"
RP_TRAIT_DELETE = RP_TRAIT_PREFIX % "delete"
TRAITS_PREFIX = "placement:traits:%s"
TRAITS_LIST = TRAITS_PREFIX % "list"
TRAITS_SHOW = TRAITS_PREFIX % "show"
TRAITS_UPDATE = TRAITS_PREFIX % "update"
TRAITS_DELETE = TRAITS_PREFIX % "delete"
_RP_PATH = "/resource_providers/{uuid}/traits"

rules = [
    documented(TRAITS_LIST, ADMIN_OR_SERVICE, "List traits.", [("GET", "/traits")]),
    documented(TRAITS_SHOW, ADMIN_OR_SERVICE, "Show trait.", [("GET", "/traits/{name}")]),
    documented(TRAITS_UPDATE, ADMIN_OR_SERVICE, "Update trait.", [("PUT", "/traits/{name}")]),
    documented(TRAITS_DELETE, ADMIN_OR_SERVICE, "Delete trait.", [("DELETE", "/traits/{name}")]),
    documented(
        RP_TRAIT_LIST, ADMIN_OR_SERVICE, "List resource provider traits.", [("GET", _RP_PATH)]
    ),
    documented(
        RP_TRAIT_UPDATE, ADMIN_OR_SERVICE, "Update resource provider traits.", [("PUT", _RP_PATH)]
    ),
    documented(
        RP_TRAIT_DELETE,
        ADMIN_OR_SERVICE,
        "Delete resource provider traits.",
        [("DELETE", _RP_PATH)],
    ),
]
