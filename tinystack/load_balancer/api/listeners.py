"""Handlers of /v2/lbaas/listeners."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.load_balancer.api import schemas, views
from tinystack.load_balancer.api.deps import DepsDep, QueryDep
from tinystack.load_balancer.services import listeners


def list_(ctx: ContextDep, deps: DepsDep, query: QueryDep) -> dict[str, Any]:
    found = listeners.list_(deps, ctx, query.page)
    return {
        "listeners": [views.only(views.listener(r), query.fields) for r in found],
        "listeners_links": [],
    }


def create(body: schemas.ListenerCreateBody, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    return {"listener": views.listener(listeners.create(deps, ctx, body.listener))}


def show(listener_id: str, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    return {"listener": views.listener(listeners.get(deps, ctx, listener_id))}


def update(
    listener_id: str, body: schemas.ListenerUpdateBody, ctx: ContextDep, deps: DepsDep
) -> dict[str, Any]:
    return {"listener": views.listener(listeners.update(deps, ctx, listener_id, body.listener))}


def delete(listener_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    listeners.delete(deps, ctx, listener_id)
    return Response(status_code=204)


def stats(listener_id: str, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    return views.stats(listeners.stats(deps, ctx, listener_id))
