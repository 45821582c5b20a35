"""Policy enforcement for the network API, upstream Neutron style.

``<action>_<resource>`` is checked on the resource, then
``<action>_<resource>:<attribute>`` for each attribute a request sets (and
``...:<attribute>:<key>`` for keys inside dicts or lists of dicts). Reading
drops items the caller may not ``get_<resource>`` and attributes it may not
``get_<resource>:<attribute>``.

Lists check rules on every item, so decisions are cached per request: a rule's
outcome depends only on the caller and on the target keys its check string
mentions (``%(project_id)s``, ``field:...:shared=...``), so items that agree on
those keys share one evaluation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import Forbidden, PolicyNotAuthorized
from tinystack.network.api.resource import Resource
from tinystack.network.services.authz import Check

MISSING = object()
#: a policy target as upstream's rules read it: a rendered view plus its _policy extras
Target = dict[str, Any]
R = TypeVar("R")
_SUBSTITUTION = re.compile(r"%\(([^)]+)\)s")
_FIELD = re.compile(r"field:[^:\s()]+:([^=\s()]+)=")
_RULE = re.compile(r"rule:([\w:.-]+)")
#: attribute of a Policy holding rule -> the target keys it reads (None: never cached)
_CACHE_ATTR = "_network_rule_keys"


def rule_keys(policy: Any, rule: str) -> frozenset[str] | None:
    """The target keys ``rule`` reads, following ``rule:`` references."""
    cache: dict[str, frozenset[str] | None] | None = getattr(policy, _CACHE_ATTR, None)
    if cache is None:
        cache = {}
        setattr(policy, _CACHE_ATTR, cache)
    if rule not in cache:
        cache[rule] = _collect(policy, rule, set())
    return cache[rule]


def _collect(policy: Any, rule: str, seen: set[str]) -> frozenset[str] | None:
    if rule in seen:
        return frozenset()
    seen.add(rule)
    check = policy.enforcer.rules.get(rule)
    if check is None:
        return frozenset()
    text = str(check)
    if "http:" in text or "https:" in text:
        return None
    keys = set(_SUBSTITUTION.findall(text)) | set(_FIELD.findall(text))
    for ref in _RULE.findall(text):
        sub = _collect(policy, ref, seen)
        if sub is None:
            return None
        keys |= sub
    return frozenset(keys)


class Enforcement:
    """One request's policy decisions, cached by the target keys each rule reads."""

    def __init__(self, ctx: RequestContext) -> None:
        self.ctx = ctx
        policy = ctx.policy
        assert policy is not None
        self.policy = policy
        self.names = policy.rule_names()
        self._decisions: dict[tuple[str, tuple[str, ...]], bool] = {}

    def allowed(self, rule: str, target: dict[str, Any]) -> bool:
        keys = rule_keys(self.policy, rule)
        if keys is None:
            return self.ctx.allowed(rule, target)
        key = (rule, tuple(repr(target.get(k)) for k in sorted(keys)))
        found = self._decisions.get(key)
        if found is None:
            found = self._decisions[key] = self.ctx.allowed(rule, target)
        return found

    def enforce(self, rule: str, target: dict[str, Any]) -> None:
        if not self.allowed(rule, target):
            raise Forbidden(f"({rule}) is disallowed by policy", code="PolicyNotAuthorized")


def make_check(
    ctx: RequestContext,
    res: Resource,
    action: str,
    values: dict[str, Any] | None = None,
) -> Check[Target]:
    """The policy check the service calls with the target it built.

    ``values`` are the attributes the request sets (updates); for creates they
    are taken from the target, skipping attributes set to their default.
    """
    rule = f"{action}_{res.singular}"
    enf = Enforcement(ctx)

    def check(target: dict[str, Any]) -> None:
        full = {**target, **target.get("_policy", {})}
        full.pop("_policy", None)
        enf.enforce(rule, full)
        attrs = values if values is not None else target
        for key, value in attrs.items():
            if key.startswith("_"):
                continue
            if values is None and value == res.defaults.get(key, MISSING):
                continue
            _enforce_attr(enf, f"{rule}:{key}", value, full)

    return check


def authorize_create(ctx: RequestContext, res: Resource, items: list[dict[str, Any]]) -> None:
    """``create_<resource>`` (and its attribute rules) on each item the request creates.

    The target is the item as requested, owned by its ``project_id`` or the caller's.
    """
    check = make_check(ctx, res, "create")
    for values in items:
        project_id = values.get("project_id") or ctx.project_id or ""
        check({**values, "project_id": project_id, "tenant_id": project_id})


def on_view(check: Check[Target], view: Callable[[R], Target]) -> Check[R]:
    """``check`` applied to the rendered view of a record (how Neutron's rules read it)."""

    def check_record(record: R) -> None:
        check(view(record))

    return check_record


def _enforce_attr(enf: Enforcement, rule: str, value: Any, target: dict[str, Any]) -> None:
    if rule in enf.names:
        enf.enforce(rule, target)
    subkeys: set[str] = set()
    if isinstance(value, dict):
        subkeys = set(value)
    elif isinstance(value, list):
        subkeys = {k for item in value if isinstance(item, dict) for k in item}
    for key in sorted(subkeys):
        nested = f"{rule}:{key}"
        if nested in enf.names:
            enf.enforce(nested, target)


def simple_check(ctx: RequestContext, rule: str) -> Check[Target]:
    def check(target: dict[str, Any]) -> None:
        try:
            ctx.can(rule, {**target, **target.get("_policy", {})})
        except PolicyNotAuthorized:
            raise Forbidden(
                f"({rule}) is disallowed by policy", code="PolicyNotAuthorized"
            ) from None

    return check
