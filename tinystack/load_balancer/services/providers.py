"""Providers (the enabled ones), flavors and availability zones (none are defined)."""

from __future__ import annotations

from tinystack.common.auth.context import RequestContext
from tinystack.load_balancer import exception
from tinystack.load_balancer.policies import provider as rules
from tinystack.load_balancer.services.deps import Deps
from tinystack.load_balancer.services.records import ProviderRecord

DESCRIPTIONS = {
    "haproxy": "HAProxy in a network namespace on the network host (no amphorae).",
    "noop_driver": "The no-op driver: API objects without a data plane.",
}


def list_(deps: Deps, ctx: RequestContext) -> list[ProviderRecord]:
    ctx.can(rules.GET_ALL, {"project_id": ctx.project_id or ""})
    return [ProviderRecord(name, DESCRIPTIONS[name]) for name in deps.providers]


def capabilities(deps: Deps, ctx: RequestContext, provider: str, rule: str) -> list[ProviderRecord]:
    """A provider's flavor or availability zone capabilities (it has none to tune)."""
    ctx.can(rule, {"project_id": ctx.project_id or ""})
    if provider not in deps.providers:
        raise exception.ProviderNotFound(provider)
    return []


def flavor(deps: Deps, ctx: RequestContext, flavor_id: str) -> ProviderRecord:
    ctx.can(rules.FLAVOR_GET_ONE, {"project_id": ctx.project_id or ""})
    raise exception.ResourceNotFound("Flavor", flavor_id)


def nothing(deps: Deps, ctx: RequestContext, rule: str) -> list[ProviderRecord]:
    """Flavors, flavor profiles and availability zones: none are defined here."""
    ctx.can(rule, {"project_id": ctx.project_id or ""})
    return []
