"""Policies and policy checks: every rule of every running service, evaluated for the
session's user as that service would (its own defaults, from the ``oslo.policy.policies``
entry points ``tinystack.<service>``), so the console shows only what the user may do.
Rules are named Skyline's way, ``<service>:<rule>`` (``nova:os_compute_api:servers:create``).

The console asks for the whole list on every page load: it is evaluated once per set of
credentials (user, project, domains, scope, roles: all a rule or the target reads) and
kept, since the enforcers hold code defaults only and never change while running.
"""

from __future__ import annotations

import importlib.metadata
import threading
from collections.abc import Iterable, Mapping

from oslo_config import cfg
from oslo_policy import policy as oslo_policy

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import Forbidden
from tinystack.common.policy import Policy
from tinystack.dashboard.services.records import PolicyResult

#: sets of credentials whose whole policy list is kept (least recently used dropped)
KEPT = 256

#: Skyline's service name -> tinystack's policy entry point
ENTRY_POINTS = {
    "keystone": "tinystack.identity",
    "nova": "tinystack.compute",
    "cinder": "tinystack.volume",
    "glance": "tinystack.image",
    "neutron": "tinystack.network",
    "placement": "tinystack.placement",
    "swift": "tinystack.object_store",
}
GROUP = "oslo.policy.policies"


def _defaults(entry_point: str) -> list[oslo_policy.RuleDefault]:
    for ep in importlib.metadata.entry_points(group=GROUP, name=entry_point):
        return list(ep.load()())
    return []


class Enforcers:
    """One enforcer per running service (built once, at start)."""

    def __init__(self, conf: cfg.ConfigOpts, services: Iterable[str]) -> None:
        self._policies: dict[str, Policy] = {}
        self._names: dict[str, list[str]] = {}
        self._kept: dict[tuple[object, ...], tuple[PolicyResult, ...]] = {}
        self._lock = threading.Lock()
        for name in services:
            entry_point = ENTRY_POINTS.get(name)
            rules = _defaults(entry_point) if entry_point else []
            if rules:
                self._policies[name] = Policy(conf, rules)
                self._names[name] = sorted(self._policies[name].rule_names())

    def list_all(self, ctx: RequestContext) -> list[PolicyResult]:
        key = _credentials_key(ctx)
        with self._lock:
            found = self._kept.pop(key, None)
        if found is None:
            target = skyline_target(ctx)
            found = tuple(
                PolicyResult(f"{name}:{rule}", allowed)
                for name, policy in self._policies.items()
                for rule, allowed in zip(
                    self._names[name],
                    policy.check_all(self._names[name], target, ctx),
                    strict=True,
                )
            )
        with self._lock:
            if len(self._kept) >= KEPT:
                del self._kept[next(iter(self._kept))]
            self._kept[key] = found  # (re)inserted last: the most recently used
        return list(found)

    def check(
        self, ctx: RequestContext, rules: Iterable[str], extra: Mapping[str, object]
    ) -> list[PolicyResult]:
        target: dict[str, object] = {**skyline_target(ctx), **extra}
        results = []
        for full in rules:
            service, _, rule = full.partition(":")
            policy = self._policies.get(service)
            if policy is None or rule not in policy.rule_names():
                raise Forbidden(f"No policy named {full!r} in the running services.")
            results.append(PolicyResult(full, policy.check(rule, target, ctx)))
        return results


def _credentials_key(ctx: RequestContext) -> tuple[object, ...]:
    creds = ctx.credentials()
    return tuple(
        tuple(sorted(value)) if isinstance(value, list | tuple | set) else value
        for _, value in sorted(creds.items())
    )


def skyline_target(ctx: RequestContext) -> dict[str, object]:
    """The target Skyline checks every rule on: the caller's own project and user."""
    payload = ctx.payload
    user = ctx.user_id
    project = ctx.project_id
    domain = payload.project_domain_id if payload else None
    return {
        "user_id": user,
        "project_id": project,
        "tenant": project,
        "tenant_id": project,
        "owner": project,
        "member_id": project,
        "domain_id": domain,
        "target.user.id": user,
        "target.project.id": project,
        "target.project.domain_id": domain,
        "target.domain.id": domain,
        "target.domain_id": domain,
        "target.token.user_id": user,
        "target.credential.user_id": user,
        "target.role.domain_id": domain,
        "target.group.domain_id": domain,
        "target.trust.trustor_user_id": user,
        "target.trust.trustee_user_id": user,
        # neutron's rules on a parent resource (the caller's own)
        "security_group:project_id": project,
        "security_group:tenant_id": project,
        "network:project_id": project,
        "network:tenant_id": project,
        "ext_parent:project_id": project,
        "ext_parent:tenant_id": project,
    }
