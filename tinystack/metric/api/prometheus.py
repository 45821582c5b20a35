"""Prometheus' HTTP API (``/api/v1/...``) over ``services/promql`` and
``services/promseries``: the calls Grafana's Prometheus data source makes — instant and
range queries (its "Save & test" is the instant query ``1+1``), ``status/buildinfo``,
``labels``, ``label/<name>/values``, ``series``, ``metadata``, ``rules`` and
``query_exemplars`` — with Prometheus' parameters (GET, or POST with a form body, as
Grafana sends them), response envelope and ``bad_data`` errors (400).
"""

from __future__ import annotations

import decimal
import json
import math
import re
import time
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack import __version__
from tinystack.common.api.deps import ContextDep
from tinystack.common.exceptions import BadRequest
from tinystack.common.timeutils import parse_isotime
from tinystack.metric.api.deps import DepsDep
from tinystack.metric.policies import prometheus as rules
from tinystack.metric.services import promql, promseries

#: Prometheus' bounds of an optional time range (``MinTime``/``MaxTime``), and how its
#: clients spell them
MIN_TIME, MAX_TIME = -9223309901257974.0, 9223309901257974.999
_BOUNDS = {"-292273086-05-16T16:47:06Z": MIN_TIME,
           "292277025-08-18T07:12:54.999999999Z": MAX_TIME}  # fmt: skip
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
#: the Prometheus release whose HTTP API these endpoints follow (``labels`` and
#: ``label/<name>/values`` take ``match[]``; ``series``, ``labels`` and values take
#: ``limit``): what Grafana reads to pick its features
PROMETHEUS_API_VERSION = "2.51.0"
TRUNCATED = "results truncated due to limit"


class Params:
    """The request's parameters: the form body's (a POST) first, then the query
    string's, repeated names kept (``match[]``), as Go's ``Request.Form``."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def get(self, key: str) -> str:
        return next((v for k, v in self.pairs if k == key), "")

    def all(self, key: str) -> list[str]:
        return [v for k, v in self.pairs if k == key]


async def _params(request: Request) -> Params:
    pairs: list[tuple[str, str]] = []
    kind = request.headers.get("content-type", "")
    if request.method == "POST" and kind.startswith("application/x-www-form-urlencoded"):
        body = (await request.body()).decode(errors="replace")
        pairs = parse_qsl(body, keep_blank_values=True)
    return Params(pairs + list(request.query_params.multi_items()))


ParamsDep = Annotated[Params, Depends(_params)]


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _invalid(key: str, message: str) -> BadRequest:
    return promql.bad(f"invalid parameter {_quote(key)}: {message}")


def _parse_time(text: str) -> float:
    if text in _BOUNDS:
        return _BOUNDS[text]
    try:
        value = float(text)
    except ValueError:
        try:
            value = parse_isotime(text).timestamp()
        except (ValueError, OverflowError):
            value = math.nan
    if not MIN_TIME <= value <= MAX_TIME:  # NaN, infinities, beyond Prometheus' range
        raise promql.bad(f"cannot parse {_quote(text)} to a valid timestamp")
    return round(value, 3)  # Prometheus keeps milliseconds


def _time(params: Params, key: str, default: float) -> float:
    """An optional time parameter (``time``, or ``start``/``end`` of metadata queries)."""
    text = params.get(key)
    if not text:
        return default
    try:
        return _parse_time(text)
    except BadRequest as exc:
        raise _invalid(key, f"invalid time value for '{key}': {exc.message}") from None


def _required_time(params: Params, key: str) -> float:
    try:
        return _parse_time(params.get(key))
    except BadRequest as exc:
        raise _invalid(key, exc.message) from None


def _limit(params: Params) -> int:
    text = params.get("limit")
    if not text:
        return 0
    try:
        limit = int(text)
    except ValueError:
        raise _invalid("limit", f"strconv.Atoi: parsing {_quote(text)}: invalid syntax") from None
    if limit < 0:
        raise _invalid("limit", "limit must be non-negative")
    return limit


def _timeout(params: Params) -> None:
    """``timeout`` is checked, not applied: an evaluation here is bounded by its data."""
    if params.get("timeout"):
        try:
            promql.duration(params.get("timeout"))
        except BadRequest as exc:
            raise _invalid("timeout", exc.message) from None


def _match(params: Params) -> list[promseries.MatcherSet]:
    return [promql.matchers(text) for text in params.all("match[]")]


def stamp(t: float) -> float | int:
    """A time as Prometheus writes it: seconds, to the millisecond."""
    ms = round(t * 1000)
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def sample(value: float) -> str:
    """A sample value as Prometheus writes it (Go's shortest ``'f'`` form, exponent
    outside [1e-6, 1e21), ``NaN``, ``+Inf``, ``-Inf``)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value and not 1e-6 <= abs(value) < 1e21:
        return repr(value)
    return format(decimal.Decimal(repr(value)).normalize(), "f")


def _success(data: Any, warnings: list[str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"status": "success", "data": data}
    if warnings:
        body["warnings"] = warnings
    return JSONResponse(body)


def _failed(exc: BadRequest) -> JSONResponse:
    body = {"status": "error", "errorType": "bad_data", "error": exc.message}
    return JSONResponse(body, status_code=400)


def _answer(make: Callable[[], Response]) -> Response:
    try:
        return make()
    except BadRequest as exc:
        return _failed(exc)


def _capped(items: list[Any], limit: int) -> JSONResponse:
    if limit and len(items) > limit:
        return _success(items[:limit], [TRUNCATED])
    return _success(items)


def query(ctx: ContextDep, deps: DepsDep, params: ParamsDep) -> Response:
    ctx.can(rules.QUERY, {})

    def make() -> Response:
        at = _time(params, "time", round(time.time(), 3))
        _timeout(params)
        found = promql.query(deps, ctx, params.get("query"), at)
        result: Any
        if found.result_type == "scalar":
            result = [stamp(at), sample(found.scalar)]
        elif found.result_type == "vector":
            result = [{"metric": dict(k), "value": [stamp(at), sample(v)]}
                      for k, v in sorted(found.vector.items())]  # fmt: skip
        else:
            result = _matrix(found.matrix)
        return _success({"resultType": found.result_type, "result": result})

    return _answer(make)


def _matrix(matrix: promql.Matrix) -> list[dict[str, Any]]:
    return [
        {"metric": dict(k), "values": [[stamp(t), sample(v)] for t, v in points]}
        for k, points in sorted(matrix.items())
    ]


def query_range(ctx: ContextDep, deps: DepsDep, params: ParamsDep) -> Response:
    ctx.can(rules.QUERY, {})

    def make() -> Response:
        start, end = _required_time(params, "start"), _required_time(params, "end")
        try:
            step = promql.duration(params.get("step"))
        except BadRequest as exc:
            raise _invalid("step", exc.message) from None
        _timeout(params)
        matrix = promql.query_range(deps, ctx, params.get("query"), start, end, step)
        return _success({"resultType": "matrix", "result": _matrix(matrix)})

    return _answer(make)


def series(ctx: ContextDep, deps: DepsDep, params: ParamsDep) -> Response:
    ctx.can(rules.QUERY, {})

    def make() -> Response:
        if not params.all("match[]"):
            raise promql.bad("no match[] parameter provided")
        limit = _limit(params)
        start, end = _time(params, "start", MIN_TIME), _time(params, "end", MAX_TIME)
        try:
            match = _match(params)
        except BadRequest as exc:
            raise _invalid("match[]", exc.message) from None
        return _capped(promseries.series(deps, ctx, match, start, end), limit)

    return _answer(make)


def labels(ctx: ContextDep, deps: DepsDep, params: ParamsDep) -> Response:
    ctx.can(rules.QUERY, {})

    def make() -> Response:
        limit = _limit(params)
        start, end = _time(params, "start", MIN_TIME), _time(params, "end", MAX_TIME)
        names = promseries.label_names(deps, ctx, _match(params), start, end)
        return _capped(names, limit)

    return _answer(make)


def label_values(name: str, ctx: ContextDep, deps: DepsDep, params: ParamsDep) -> Response:
    ctx.can(rules.QUERY, {})

    def make() -> Response:
        if not _LABEL_NAME.fullmatch(name):
            raise promql.bad(f"invalid label name: {_quote(name)}")
        limit = _limit(params)
        start, end = _time(params, "start", MIN_TIME), _time(params, "end", MAX_TIME)
        values = promseries.label_values(deps, ctx, name, _match(params), start, end)
        return _capped(values, limit)

    return _answer(make)


def _number(params: Params, key: str) -> int:
    """``limit``/``limit_per_metric`` of ``metadata``: negative (the default) is none."""
    text = params.get(key)
    if not text:
        return -1
    try:
        return int(text)
    except ValueError:
        raise promql.bad(f"{key} must be a number") from None


def metadata(ctx: ContextDep, deps: DepsDep, params: ParamsDep) -> Response:
    ctx.can(rules.QUERY, {})

    def make() -> Response:
        limit, per_metric = _number(params, "limit"), _number(params, "limit_per_metric")
        found = promseries.metadata(deps, ctx, params.get("metric"))
        data: dict[str, list[dict[str, str]]] = {}
        for name, entries in found.items():
            if 0 <= limit <= len(data):
                break
            kept = entries[:per_metric] if per_metric > 0 else entries
            data[name] = [{"type": m.type, "help": m.help, "unit": m.unit} for m in kept]
        return _success(data)

    return _answer(make)


def query_exemplars(ctx: ContextDep, deps: DepsDep, params: ParamsDep) -> Response:
    """The metric store keeps no exemplars: a valid query finds none."""
    del deps
    ctx.can(rules.QUERY, {})

    def make() -> Response:
        start, end = _time(params, "start", MIN_TIME), _time(params, "end", MAX_TIME)
        if end < start:
            raise promql.bad("end timestamp must not be before start timestamp")
        node = promql.parse(params.get("query"))
        if not any(True for _ in promql.selectors(node)):
            return Response(status_code=204)  # Prometheus answers no data for no selector
        return _success([])

    return _answer(make)


def rule_groups(ctx: ContextDep, params: ParamsDep) -> Response:
    """The metric store evaluates no recording or alerting rules (Aodh's alarms are
    the cloud's): no groups."""
    ctx.can(rules.QUERY, {})
    kind = params.get("type").lower()
    if kind not in ("", "alert", "record"):
        return _failed(_invalid("type", f"not supported value {_quote(kind)}"))
    return _success({"groups": []})


def buildinfo(ctx: ContextDep) -> Response:
    """Prometheus' build information, which Grafana reads to tell Prometheus from
    Mimir (no ``features``) and to pick the API features it uses."""
    ctx.can(rules.QUERY, {})
    return _success({"version": PROMETHEUS_API_VERSION, "revision": f"tinystack {__version__}",
                     "branch": "", "buildUser": "", "buildDate": "", "goVersion": ""})  # fmt: skip
