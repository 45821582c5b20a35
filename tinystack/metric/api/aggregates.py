"""``POST /v1/aggregates``."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from tinystack.common.api.deps import ContextDep
from tinystack.common.exceptions import BadRequest
from tinystack.metric.api import views
from tinystack.metric.api.deps import DepsDep, flag
from tinystack.metric.api.schemas import Aggregates
from tinystack.metric.policies import aggregates as rules
from tinystack.metric.policies import resources as res_rules
from tinystack.metric.services import aggregates, measures, search
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
        refresh=flag(request, "refresh"),
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


def _view(found: aggregates.Aggregated) -> dict[str, Any]:
    if found.aggregated is not None:
        return {"measures": {"aggregated": views.measures(found.aggregated)}}
    out: dict[str, Any] = {}
    for one in found.series:
        per_metric = out.setdefault(one.resource_id, {}) if one.resource_id else out
        per_metric.setdefault(one.metric, {})[one.aggregation] = views.measures(one.points)
    return {"measures": out}


def aggregate(request: Request, ctx: ContextDep, deps: DepsDep, body: Aggregates) -> Any:
    ctx.can(rules.AGGREGATES, {})
    operations, query = _text(body.operations), _query(request)
    if body.search is None:
        if request.query_params.getlist("groupby"):
            raise BadRequest("Invalid input: groupby needs a resource search")
        return _view(aggregates.evaluate(deps, ctx, operations, query))
    ctx.can(res_rules.SEARCH, {"project_id": ctx.project_id,
                                "created_by_project_id": ctx.project_id})  # fmt: skip
    groupby = tuple(sorted({g for value in request.query_params.getlist("groupby")
                            for g in value.split(",") if g}))  # fmt: skip
    query_doc = search.parse_filter(body.search) if isinstance(body.search, str) else body.search
    wanted = aggregates.ResourceSearch(body.resource_type or "generic", query_doc, groupby)
    found = aggregates.evaluate_search(deps, ctx, operations, query, wanted)
    if not groupby:
        return _view(found[0])
    return [{"group": one.group, "measures": _view(one)} for one in found]
