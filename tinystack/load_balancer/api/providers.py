"""Handlers of /v2/lbaas/providers, flavors, flavor profiles and availability zones."""

from __future__ import annotations

from typing import Any

from tinystack.common.api.deps import ContextDep
from tinystack.load_balancer.api.deps import DepsDep
from tinystack.load_balancer.policies import provider as rules
from tinystack.load_balancer.services import providers


def list_(ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    found = providers.list_(deps, ctx)
    return {"providers": [{"name": p.name, "description": p.description} for p in found]}


def flavor_capabilities(provider: str, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    providers.capabilities(deps, ctx, provider, rules.FLAVOR_CAPABILITIES)
    return {"flavor_capabilities": []}


def availability_zone_capabilities(provider: str, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    providers.capabilities(deps, ctx, provider, rules.AZ_CAPABILITIES)
    return {"availability_zone_capabilities": []}


def flavors(ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    providers.nothing(deps, ctx, rules.FLAVOR_GET_ALL)
    return {"flavors": [], "flavors_links": []}


def flavor(flavor_id: str, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    providers.flavor(deps, ctx, flavor_id)
    return {}


def flavorprofiles(ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    providers.nothing(deps, ctx, rules.FLAVOR_PROFILE_GET_ALL)
    return {"flavorprofiles": [], "flavorprofiles_links": []}


def availability_zones(ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    providers.nothing(deps, ctx, rules.AZ_GET_ALL)
    return {"availability_zones": [], "availability_zones_links": []}
