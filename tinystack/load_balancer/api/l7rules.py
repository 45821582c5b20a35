"""Handlers of /v2/lbaas/l7policys/{l7policy_id}/rules."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.load_balancer.api import schemas, views
from tinystack.load_balancer.api.deps import DepsDep, QueryDep
from tinystack.load_balancer.services import l7rules


def list_(l7policy_id: str, ctx: ContextDep, deps: DepsDep, query: QueryDep) -> dict[str, Any]:
    found = l7rules.list_(deps, ctx, l7policy_id, query.page)
    return {"rules": [views.only(views.l7rule(r), query.fields) for r in found], "rules_links": []}


def create(
    l7policy_id: str, body: schemas.L7RuleCreateBody, ctx: ContextDep, deps: DepsDep
) -> dict[str, Any]:
    return {"rule": views.l7rule(l7rules.create(deps, ctx, l7policy_id, body.rule))}


def show(l7policy_id: str, l7rule_id: str, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    return {"rule": views.l7rule(l7rules.get(deps, ctx, l7policy_id, l7rule_id))}


def update(
    l7policy_id: str, l7rule_id: str, body: schemas.L7RuleUpdateBody, ctx: ContextDep, deps: DepsDep
) -> dict[str, Any]:
    return {"rule": views.l7rule(l7rules.update(deps, ctx, l7policy_id, l7rule_id, body.rule))}


def delete(l7policy_id: str, l7rule_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    l7rules.delete(deps, ctx, l7policy_id, l7rule_id)
    return Response(status_code=204)
