"""``/v1/metric``."""

from __future__ import annotations

from typing import Any

from fastapi import Query
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.metric.api import views
from tinystack.metric.api.deps import DepsDep
from tinystack.metric.api.schemas import MetricCreate
from tinystack.metric.policies import metrics as rules
from tinystack.metric.services import metrics
from tinystack.metric.services.metrics import MetricSpec


def create_metric(ctx: ContextDep, deps: DepsDep, body: MetricCreate) -> Any:
    ctx.can(rules.CREATE, {})
    spec = MetricSpec(body.archive_policy_name, body.unit, body.name, body.resource_id)
    return views.metric(metrics.create(deps, ctx, spec))


def list_metrics(
    ctx: ContextDep, deps: DepsDep, limit: int | None = Query(default=None, ge=1)
) -> Any:
    ctx.can(rules.LIST, {})
    return [views.metric(m, detailed=False) for m in metrics.list_items(deps, ctx, limit)]


def show_metric(metric_id: str, ctx: ContextDep, deps: DepsDep) -> Any:
    return views.metric(metrics.get(deps, ctx, metric_id))


def delete_metric(metric_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    metrics.delete(deps, ctx, metric_id)
    return Response(status_code=204)
