"""Handlers of /v2/lbaas/healthmonitors."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.load_balancer.api import schemas, views
from tinystack.load_balancer.api.deps import DepsDep, QueryDep
from tinystack.load_balancer.services import healthmonitors


def list_(ctx: ContextDep, deps: DepsDep, query: QueryDep) -> dict[str, Any]:
    found = healthmonitors.list_(deps, ctx, query.page)
    return {
        "healthmonitors": [views.only(views.healthmonitor(r), query.fields) for r in found],
        "healthmonitors_links": [],
    }


def create(body: schemas.HealthMonitorCreateBody, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    return {
        "healthmonitor": views.healthmonitor(healthmonitors.create(deps, ctx, body.healthmonitor))
    }


def show(healthmonitor_id: str, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    return {"healthmonitor": views.healthmonitor(healthmonitors.get(deps, ctx, healthmonitor_id))}


def update(
    healthmonitor_id: str, body: schemas.HealthMonitorUpdateBody, ctx: ContextDep, deps: DepsDep
) -> dict[str, Any]:
    return {
        "healthmonitor": views.healthmonitor(
            healthmonitors.update(deps, ctx, healthmonitor_id, body.healthmonitor)
        )
    }


def delete(healthmonitor_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    healthmonitors.delete(deps, ctx, healthmonitor_id)
    return Response(status_code=204)
