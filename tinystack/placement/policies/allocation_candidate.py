"""Policy rules for /allocation_candidates."""

from __future__ import annotations

from tinystack.placement.policies.base import ADMIN_OR_SERVICE, documented

LIST = "placement:allocation_candidates:list"

rules = [
    documented(
        LIST, ADMIN_OR_SERVICE, "List allocation candidates.", [("GET", "/allocation_candidates")]
    ),
]
