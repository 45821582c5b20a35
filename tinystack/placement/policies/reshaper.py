"""Policy rules for /reshaper: only the service role (a compute service), as upstream."""

from __future__ import annotations

from tinystack.placement.policies.base import SERVICE, documented

RESHAPE = "placement:reshaper:reshape"

rules = [
    documented(RESHAPE, SERVICE, "Reshape Inventory and Allocations.", [("POST", "/reshaper")]),
]
