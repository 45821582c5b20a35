"""Policy rules for usages."""

from __future__ import annotations

from tinystack.placement.policies.base import (
    ADMIN_OR_PROJECT_READER_OR_SERVICE,
    ADMIN_OR_SERVICE,
    documented,
)

PROVIDER_USAGES = "placement:resource_providers:usages"
TOTAL_USAGES = "placement:usages"

rules = [
    documented(
        PROVIDER_USAGES,
        ADMIN_OR_SERVICE,
        "List resource provider usages.",
        [("GET", "/resource_providers/{uuid}/usages")],
    ),
    documented(
        TOTAL_USAGES,
        ADMIN_OR_PROJECT_READER_OR_SERVICE,
        "List total resource usages for a given project.",
        [("GET", "/usages")],
    ),
]
