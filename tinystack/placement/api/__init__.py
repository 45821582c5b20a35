"""The Placement REST API: one module per resource, all mounted by :func:`routers`."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from tinystack.placement.api import (
        aggregates,
        allocation_candidates,
        allocations,
        inventories,
        reshaper,
        resource_classes,
        resource_providers,
        root,
        traits,
        usages,
    )

    return [
        root.router,
        resource_providers.router,
        inventories.router,
        aggregates.router,
        resource_classes.router,
        traits.router,
        allocations.router,
        usages.router,
        allocation_candidates.router,
        reshaper.router,
    ]
