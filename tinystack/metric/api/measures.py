"""Measures of a metric, by id or as a named metric of a resource, and the batches of
metrics by id (``/v1/batch/metrics/measures``) and of resources' named metrics
(``/v1/batch/resources/metrics/measures``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.common.exceptions import BadRequest
from tinystack.metric.api import views
from tinystack.metric.api.deps import DepsDep, flag
from tinystack.metric.exception import UnknownMetrics
from tinystack.metric.services import measures
from tinystack.metric.services.archive_policies import parse_timespan
from tinystack.metric.services.measures import MeasureQuery
from tinystack.metric.services.records import MeasureSeries

_KNOWN = {"aggregation", "granularity", "start", "stop", "refresh", "resample", "details"}


def measure_query(request: Request) -> MeasureQuery:
    params = request.query_params
    if "resample" in params:
        raise BadRequest("Invalid input: resample is not supported")
    granularity = params.get("granularity")
    start, stop = params.get("start"), params.get("stop")
    return MeasureQuery(
        aggregation=params.get("aggregation", "mean"),
        granularity=None if granularity is None else parse_timespan(granularity, "granularity"),
        start=None if start is None else measures.parse_timestamp(start),
        stop=None if stop is None else measures.parse_timestamp(stop),
        refresh=flag(request, "refresh"),
    )


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise BadRequest("Unable to decode body") from None


async def add_measures(
    metric_id: str, request: Request, ctx: ContextDep, deps: DepsDep
) -> Response:
    body = await _json(request)
    measures.add(deps, ctx, metric_id, body)
    return Response(status_code=202)


def _rendered(found: list[MeasureSeries]) -> Response:
    """Serialized here from the columns: FastAPI's encoder would walk every value of a
    week of points, and a list per point is garbage for the collector to chase."""
    return Response(views.measures_json(found), media_type="application/json")


def get_measures(metric_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    return _rendered(measures.get(deps, ctx, metric_id, measure_query(request)))


async def add_resource_measures(
    resource_type: str,
    resource_id: str,
    metric_name: str,
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
) -> Response:
    body = await _json(request)
    measures.add_to_resource(deps, ctx, resource_type, resource_id, metric_name, body)
    return Response(status_code=202)


def get_resource_measures(
    resource_type: str,
    resource_id: str,
    metric_name: str,
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
) -> Response:
    query = measure_query(request)
    found = measures.get_of_resource(deps, ctx, resource_type, resource_id, metric_name, query)
    return _rendered(found)


async def batch_resources_measures(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    body = await _json(request)
    if not isinstance(body, dict) or not all(isinstance(v, dict) for v in body.values()):
        raise BadRequest("Invalid input: expected {resource id: {metric name: measures}}")
    create = request.query_params.get("create_metrics", "false").lower() in ("true", "1", "yes")
    measures.batch_resources(deps, ctx, body, create)
    return Response(status_code=202)


async def batch_metrics_measures(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    body = await _json(request)
    try:
        measures.batch_metrics(deps, ctx, body)
    except UnknownMetrics as error:  # Gnocchi describes this 400 as an object
        description = {"cause": error.cause, "detail": error.unknown}
        return JSONResponse(
            {"code": 400, "description": description, "title": "Bad Request"}, status_code=400
        )
    return Response(status_code=202)
