"""Prometheus' HTTP query API (``/api/v1/query``, ``/api/v1/query_range``; GET, or POST
with a form body as Grafana sends it) over ``services/promql``, with Prometheus' own
response and error shapes."""

from __future__ import annotations

import time
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import JSONResponse

from tinystack.common.api.deps import ContextDep
from tinystack.common.exceptions import BadRequest
from tinystack.metric.api.deps import DepsDep
from tinystack.metric.policies import prometheus as rules
from tinystack.metric.services import promql
from tinystack.metric.services.measures import parse_timestamp


async def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    kind = request.headers.get("content-type", "")
    if request.method == "POST" and kind.startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl((await request.body()).decode(errors="replace")))
    return params


ParamsDep = Annotated[dict[str, str], Depends(_params)]


def _failed(exc: BadRequest) -> JSONResponse:
    body = {"status": "error", "errorType": "bad_data", "error": exc.message}
    return JSONResponse(body, status_code=400)


def _time(params: dict[str, str], key: str, default: float | None = None) -> float:
    if key not in params:
        if default is None:
            raise promql.bad(f"missing parameter {key}")
        return default
    try:
        return parse_timestamp(params[key])
    except BadRequest:
        raise promql.bad(f'invalid parameter "{key}": cannot parse {params[key]!r}') from None


def _expression(params: dict[str, str]) -> str:
    text = params.get("query", "")
    if not text.strip():
        raise promql.bad("missing parameter query")
    return text


def query(ctx: ContextDep, deps: DepsDep, params: ParamsDep) -> Any:
    ctx.can(rules.QUERY, {})
    try:
        at = _time(params, "time", time.time())
        vector = promql.query(deps, ctx, _expression(params), at)
    except BadRequest as exc:
        return _failed(exc)
    result = [{"metric": dict(k), "value": [at, repr(v)]} for k, v in sorted(vector.items())]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


def query_range(ctx: ContextDep, deps: DepsDep, params: ParamsDep) -> Any:
    ctx.can(rules.QUERY, {})
    try:
        start, end = _time(params, "start"), _time(params, "end")
        step = promql.duration(params.get("step", ""))
        matrix = promql.query_range(deps, ctx, _expression(params), start, end, step)
    except BadRequest as exc:
        return _failed(exc)
    result = [
        {"metric": dict(k), "values": [[t, repr(v)] for t, v in points]}
        for k, points in sorted(matrix.items())
    ]
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}
