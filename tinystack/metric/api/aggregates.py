"""``POST /v1/aggregates``."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from tinystack.common.api.deps import ContextDep
from tinystack.common.exceptions import BadRequest
from tinystack.metric.api import views
from tinystack.metric.api.deps import DepsDep
from tinystack.metric.api.schemas import Aggregates
from tinystack.metric.policies import aggregates as rules
from tinystack.metric.services import aggregates, measures
from tinystack.metric.services.aggregates import AggregateQuery
from tinystack.metric.services.archive_policies import parse_timespan


def _query(request: Request) -> AggregateQuery:
    params = request.query_params
    granularity, start, stop = params.get("granularity"), params.get("start"), params.get("stop")
    fill = params.get("fill")
    try:
        overlap = float(params.get("needed_overlap", 100))
        filled = None if fill in (None, "null", "dropna") else float(str(fill))
    except ValueError:
        raise BadRequest("Invalid input: needed_overlap and fill must be numbers") from None
    return AggregateQuery(
        granularity=None if granularity is None else parse_timespan(granularity, "granularity"),
        start=None if start is None else measures.parse_timestamp(start),
        stop=None if stop is None else measures.parse_timestamp(stop),
        needed_overlap=overlap,
        fill=filled,
    )


def _text(operations: str | list[Any]) -> str:
    """The operations as text (a JSON list is the same tree)."""
    if isinstance(operations, str):
        return operations
    return (
        json.dumps(operations)
        .replace("[", "(")
        .replace("]", ")")
        .replace(",", " ")
        .replace('"', "")
    )


def aggregate(request: Request, ctx: ContextDep, deps: DepsDep, body: Aggregates) -> Any:
    ctx.can(rules.AGGREGATES, {})
    if body.search is not None or body.resource_type is not None:
        raise BadRequest("Invalid input: resource searches are not supported yet")
    found = aggregates.evaluate(deps, ctx, _text(body.operations), _query(request))
    if found.aggregated is not None:
        return {"measures": {"aggregated": views.measures(found.aggregated)}}
    per_metric: dict[str, dict[str, Any]] = {}
    for metric_id, method, points in found.series:
        per_metric.setdefault(metric_id, {})[method] = views.measures(points)
    return {"measures": per_metric}
