"""Handlers of /v2/lbaas/l7policies."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.load_balancer.api import schemas, views
from tinystack.load_balancer.api.deps import DepsDep, QueryDep
from tinystack.load_balancer.services import l7policies


def list_(ctx: ContextDep, deps: DepsDep, query: QueryDep) -> dict[str, Any]:
    found = l7policies.list_(deps, ctx, query.page)
    return {
        "l7policies": [views.only(views.l7policy(r), query.fields) for r in found],
        "l7policies_links": [],
    }


def create(body: schemas.L7PolicyCreateBody, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    return {"l7policy": views.l7policy(l7policies.create(deps, ctx, body.l7policy))}


def show(l7policy_id: str, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    return {"l7policy": views.l7policy(l7policies.get(deps, ctx, l7policy_id))}


def update(
    l7policy_id: str, body: schemas.L7PolicyUpdateBody, ctx: ContextDep, deps: DepsDep
) -> dict[str, Any]:
    return {"l7policy": views.l7policy(l7policies.update(deps, ctx, l7policy_id, body.l7policy))}


def delete(l7policy_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    l7policies.delete(deps, ctx, l7policy_id)
    return Response(status_code=204)
