"""Handlers of /v2/lbaas/loadbalancers."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.load_balancer.api import schemas, views
from tinystack.load_balancer.api.deps import DepsDep, QueryDep
from tinystack.load_balancer.services import loadbalancers, status_tree
from tinystack.load_balancer.services.status_tree import StatusNode


def list_(ctx: ContextDep, deps: DepsDep, query: QueryDep) -> dict[str, Any]:
    found = loadbalancers.list_(deps, ctx, query.page)
    return {
        "loadbalancers": [views.only(views.loadbalancer(r), query.fields) for r in found],
        "loadbalancers_links": [],
    }


def create(body: schemas.LoadBalancerCreateBody, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    return {"loadbalancer": views.loadbalancer(loadbalancers.create(deps, ctx, body.loadbalancer))}


def show(loadbalancer_id: str, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    return {"loadbalancer": views.loadbalancer(loadbalancers.get(deps, ctx, loadbalancer_id))}


def update(
    loadbalancer_id: str, body: schemas.LoadBalancerUpdateBody, ctx: ContextDep, deps: DepsDep
) -> dict[str, Any]:
    found = loadbalancers.update(deps, ctx, loadbalancer_id, body.loadbalancer)
    return {"loadbalancer": views.loadbalancer(found)}


def delete(loadbalancer_id: str, ctx: ContextDep, deps: DepsDep, cascade: bool = False) -> Response:
    loadbalancers.delete(deps, ctx, loadbalancer_id, cascade)
    return Response(status_code=204)


def stats(loadbalancer_id: str, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    return views.stats(loadbalancers.stats(deps, ctx, loadbalancer_id))


def _tree(node: StatusNode) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": node.id,
        "name": node.name,
        "provisioning_status": node.provisioning_status,
        "operating_status": node.operating_status,
        **dict(node.extra),
    }
    for kind, children in node.children:
        rendered = [_tree(c) for c in children]
        out[kind] = rendered[0] if kind == "health_monitor" else rendered
    return out


def status(loadbalancer_id: str, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    return {"statuses": {"loadbalancer": _tree(status_tree.get(deps, ctx, loadbalancer_id))}}


def failover(loadbalancer_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    loadbalancers.failover(deps, ctx, loadbalancer_id)
    return Response(status_code=202)
