"""Handlers of /v2/lbaas/pools."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.load_balancer.api import schemas, views
from tinystack.load_balancer.api.deps import DepsDep, QueryDep
from tinystack.load_balancer.services import pools


def list_(ctx: ContextDep, deps: DepsDep, query: QueryDep) -> dict[str, Any]:
    found = pools.list_(deps, ctx, query.page)
    return {"pools": [views.only(views.pool(r), query.fields) for r in found], "pools_links": []}


def create(body: schemas.PoolCreateBody, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    return {"pool": views.pool(pools.create(deps, ctx, body.pool))}


def show(pool_id: str, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    return {"pool": views.pool(pools.get(deps, ctx, pool_id))}


def update(
    pool_id: str, body: schemas.PoolUpdateBody, ctx: ContextDep, deps: DepsDep
) -> dict[str, Any]:
    return {"pool": views.pool(pools.update(deps, ctx, pool_id, body.pool))}


def delete(pool_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    pools.delete(deps, ctx, pool_id)
    return Response(status_code=204)
