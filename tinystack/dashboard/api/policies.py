"""Policies of every running service for the session's user, and checks of named rules."""

from __future__ import annotations

from typing import Any

from tinystack.dashboard.api.deps import DepsDep, SessionContextDep
from tinystack.dashboard.api.schemas import PoliciesRules


def list_policies(deps: DepsDep, ctx: SessionContextDep) -> dict[str, Any]:
    results = deps.enforcers.list_all(ctx)
    return {"policies": [{"rule": r.rule, "allowed": r.allowed} for r in results]}


def check_policies(deps: DepsDep, ctx: SessionContextDep, body: PoliciesRules) -> dict[str, Any]:
    results = deps.enforcers.check(ctx, body.rules, body.target or {})
    return {"policies": [{"rule": r.rule, "allowed": r.allowed} for r in results]}
