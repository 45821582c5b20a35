"""A PromQL subset over the metric store, for ``/api/v1/query`` and ``query_range``
(dashboards, Grafana's Prometheus data source, the ``prometheus`` alarm rule).

Series are the metrics of resources, named as on ``/metrics`` (``ceilometer_<meter>``)
with the labels ``resource_id``, ``resource_type``, ``project_id`` and ``unit``; a
sample at time ``t`` is the mean of the newest bucket of the metric's finest
granularity that starts at most ``t`` and within the 5-minute lookback — so a range
query stepping by that granularity from a bucket boundary returns exactly the series
``GET /v1/metric/{id}/measures?granularity=g`` returns.

The language: selectors with ``=``, ``!=``, ``=~``, ``!~`` matchers; ``rate``,
``increase`` and ``avg|min|max|sum|count_over_time`` of a range selector;
``sum|avg|min|max|count`` with ``by``/``without``; arithmetic (``+ - * /``) and
comparisons (``> < >= <= == !=``, which filter) against a number. Anything else is a
``bad_data`` error.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest
from tinystack.metric import models
from tinystack.metric.policies import measures as rules
from tinystack.metric.services import _rows, archive_policies
from tinystack.metric.services.deps import Deps
from tinystack.metric.services.exposition import family

LOOKBACK = 300.0
MAX_POINTS = 11000
Labels = tuple[tuple[str, str], ...]
Vector = dict[Labels, float]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?(?:e[+-]?\d+)?)(?![a-zA-Z_])|(?P<dur>\d+[smhdw])"
    r"|(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)|(?P<str>\"(?:[^\"\\]|\\.)*\"|'[^']*')"
    r"|(?P<op>=~|!~|!=|==|>=|<=|[{}()\[\],=<>+\-*/]))"
)
_DURATION = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_RANGE_FUNCS = ("rate", "increase", "avg_over_time", "min_over_time", "max_over_time",
                "sum_over_time", "count_over_time")  # fmt: skip
_AGGREGATIONS = ("sum", "avg", "min", "max", "count")
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": lambda a, b: a > b, "<": lambda a, b: a < b, ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}  # fmt: skip
_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: a / b if b else float("nan"),
}  # fmt: skip


def bad(message: str) -> BadRequest:
    return BadRequest(message, code="bad_data")


def duration(text: str) -> float:
    """Seconds of ``5m`` / ``30s`` / ``1h`` or a plain number of seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhdw]?)", text.strip())
    if not match:
        raise bad(f"invalid duration {text!r}")
    return float(match[1]) * _DURATION.get(match[2] or "s", 1)


@dataclass(frozen=True, slots=True)
class Matcher:
    label: str
    op: str
    value: str

    def test(self, labels: dict[str, str]) -> bool:
        got = labels.get(self.label, "")
        if self.op in ("=~", "!~"):
            hit = re.fullmatch(self.value, got) is not None
            return hit if self.op == "=~" else not hit
        return (got == self.value) == (self.op == "=")


@dataclass(frozen=True, slots=True)
class Selector:
    name: str
    matchers: tuple[Matcher, ...]
    range: float = 0.0


@dataclass(frozen=True, slots=True)
class Call:
    func: str
    arg: Selector


@dataclass(frozen=True, slots=True)
class Aggregate:
    op: str
    arg: Node
    labels: tuple[str, ...]
    without: bool


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: Node
    number: float


Node = Selector | Call | Aggregate | Binary


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos, text = 0, text.strip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if not match or match.end() == pos:
                raise bad(f"parse error at char {pos + 1}: unexpected {text[pos]!r}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match[kind]))
            pos = match.end()
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self, value: str | None = None) -> str:
        kind, text = self.peek()
        if kind == "end" or (value is not None and text != value):
            raise bad(f"parse error: expected {value or 'more'}, got {text or 'end of input'}")
        self.pos += 1
        return text

    def parse(self) -> Node:
        node = self.expression()
        if self.peek()[0] != "end":
            raise bad(f"parse error: unexpected {self.peek()[1]}")
        return node

    def expression(self) -> Node:
        node = self.term()
        while self.peek()[1] in (*_COMPARE, *_ARITH):
            op = self.take()
            kind, text = self.peek()
            if kind != "num":
                raise bad("only comparisons and arithmetic with a number are supported")
            self.take()
            node = Binary(op, node, float(text))
        return node

    def _labels(self) -> tuple[str, ...]:
        self.take("(")
        names: list[str] = []
        while self.peek()[1] != ")":
            names.append(self.take())
            if self.peek()[1] == ",":
                self.take(",")
        self.take(")")
        return tuple(names)

    def term(self) -> Node:
        kind, text = self.peek()
        if kind != "name":
            raise bad(f"parse error: unexpected {text or 'end of input'}")
        self.take()
        if text in _AGGREGATIONS:
            grouping: tuple[str, ...] = ()
            without = False
            if self.peek()[1] in ("by", "without"):
                without = self.take() == "without"
                grouping = self._labels()
            self.take("(")
            arg = self.expression()
            self.take(")")
            if self.peek()[1] in ("by", "without"):
                without = self.take() == "without"
                grouping = self._labels()
            return Aggregate(text, arg, grouping, without)
        if text in _RANGE_FUNCS:
            self.take("(")
            arg = self.selector(self.take())
            self.take(")")
            if not arg.range:
                raise bad(f"{text} needs a range vector, such as {arg.name}[5m]")
            return Call(text, arg)
        return self.selector(text)

    def selector(self, name: str) -> Selector:
        matchers: list[Matcher] = []
        if self.peek()[1] == "{":
            self.take("{")
            while self.peek()[1] != "}":
                label, op = self.take(), self.take()
                if op not in ("=", "!=", "=~", "!~"):
                    raise bad(f"unknown label matcher {op}")
                kind, value = self.peek()
                if kind != "str":
                    raise bad("a label matcher needs a quoted value")
                self.take()
                matchers.append(Matcher(label, op, value[1:-1]))
                if self.peek()[1] == ",":
                    self.take(",")
            self.take("}")
        span = 0.0
        if self.peek()[1] == "[":
            self.take("[")
            span = duration(self.take())
            self.take("]")
        return Selector(name, tuple(matchers), span)


def parse(text: str) -> Node:
    return _Parser(text).parse()


@dataclass
class _Series:
    labels: Labels
    #: (bucket start, mean, last, time of last), oldest first
    points: list[tuple[float, float, float, float]]


def _selectors(node: Node) -> Iterable[Selector]:
    if isinstance(node, Selector):
        yield node
    elif isinstance(node, Call):
        yield node.arg
    elif isinstance(node, Aggregate | Binary):
        yield from _selectors(node.arg if isinstance(node, Aggregate) else node.left)


def _load(deps: Deps, ctx: RequestContext, sel: Selector, lo: float, hi: float) -> list[_Series]:
    found = []
    with deps.db.reader() as session:
        rows = session.execute(
            select(models.Metric, models.Resource)
            .join(models.Resource, models.Metric.resource_id == models.Resource.id)
            .where(models.Metric.name.is_not(None))
        ).all()
        for metric, resource in rows:
            if family(str(metric.name)) != sel.name:
                continue
            labels = {"__name__": sel.name, "resource_id": resource.id,
                      "resource_type": resource.type, "project_id": resource.project_id or "",
                      "unit": metric.unit or ""}  # fmt: skip
            if not all(m.test(labels) for m in sel.matchers):
                continue
            if not ctx.allowed(rules.GET, _rows.metric_target(metric, resource)):
                continue
            policy = archive_policies.record(
                _rows.archive_policy(session, metric.archive_policy_name)
            )
            finest = min(d.granularity for d in policy.definition)
            points = session.scalars(
                select(models.Point).where(
                    models.Point.metric_id == metric.id, models.Point.kind == 0,
                    models.Point.granularity == finest, models.Point.timestamp > lo,
                    models.Point.timestamp <= hi,
                ).order_by(models.Point.timestamp)
            )  # fmt: skip
            found.append(_Series(tuple(sorted(labels.items())),
                                 [(p.timestamp, p.sum / p.count, p.last, p.last_at)
                                  for p in points]))  # fmt: skip
    return found


def _window(series: _Series, t: float, span: float) -> list[tuple[float, float, float, float]]:
    return [p for p in series.points if t - span < p[0] <= t]


def _range_value(func: str, window: list[tuple[float, float, float, float]]) -> float | None:
    if func in ("rate", "increase"):
        if len(window) < 2:
            return None
        grown = sum(b[2] - a[2] if b[2] >= a[2] else b[2]  # a drop is a counter reset
                    for a, b in zip(window, window[1:], strict=False))  # fmt: skip
        elapsed = window[-1][3] - window[0][3]
        if func == "increase":
            return grown
        return grown / elapsed if elapsed > 0 else None
    if not window:
        return None
    means = [p[1] for p in window]
    reduce: dict[str, Callable[[list[float]], float]] = {
        "avg_over_time": lambda v: sum(v) / len(v), "min_over_time": min,
        "max_over_time": max, "sum_over_time": sum, "count_over_time": lambda v: float(len(v)),
    }  # fmt: skip
    return reduce[func](means)


def _drop_name(labels: Labels) -> Labels:
    return tuple(item for item in labels if item[0] != "__name__")


def _evaluate(node: Node, t: float, data: dict[Selector, list[_Series]]) -> Vector:
    if isinstance(node, Selector):
        out: Vector = {}
        for series in data[node]:
            window = _window(series, t, LOOKBACK)
            if window:
                out[series.labels] = window[-1][1]
        return out
    if isinstance(node, Call):
        out = {}
        for series in data[node.arg]:
            value = _range_value(node.func, _window(series, t, node.arg.range))
            if value is not None:
                out[_drop_name(series.labels)] = value
        return out
    if isinstance(node, Binary):
        inner = _evaluate(node.left, t, data)
        if node.op in _COMPARE:
            return {k: v for k, v in inner.items() if _COMPARE[node.op](v, node.number)}
        return {_drop_name(k): _ARITH[node.op](v, node.number) for k, v in inner.items()}
    groups: dict[Labels, list[float]] = defaultdict(list)
    for labels, value in _evaluate(node.arg, t, data).items():
        keep = [(k, v) for k, v in labels if k != "__name__"
                and ((k not in node.labels) if node.without else (k in node.labels))]  # fmt: skip
        groups[tuple(keep)].append(value)
    combine: dict[str, Callable[[list[float]], float]] = {
        "sum": sum, "min": min, "max": max, "avg": lambda v: sum(v) / len(v),
        "count": lambda v: float(len(v)),
    }  # fmt: skip
    return {labels: combine[node.op](values) for labels, values in groups.items()}


def _span(node: Node) -> float:
    return max([LOOKBACK, *(s.range for s in _selectors(node))])


def query_range(
    deps: Deps, ctx: RequestContext, text: str, start: float, end: float, step: float
) -> dict[Labels, list[tuple[float, float]]]:
    """The expression at ``start``, ``start + step``, … ``end``: each series' points."""
    if step <= 0:
        raise bad("zero or negative query resolution step widths are not accepted")
    if end < start:
        raise bad("end timestamp must not be before start time")
    if (end - start) / step > MAX_POINTS:
        raise bad("exceeded maximum resolution of 11,000 points per timeseries")
    node = parse(text)
    lo = start - _span(node)
    data = {sel: _load(deps, ctx, sel, lo, end) for sel in set(_selectors(node))}
    result: dict[Labels, list[tuple[float, float]]] = defaultdict(list)
    t = start
    while t <= end + 1e-9:
        for labels, value in _evaluate(node, t, data).items():
            result[labels].append((t, value))
        t += step
    return dict(result)


def query(deps: Deps, ctx: RequestContext, text: str, at: float) -> Vector:
    """The expression at ``at``: an instant vector."""
    node = parse(text)
    data = {sel: _load(deps, ctx, sel, at - _span(node), at) for sel in set(_selectors(node))}
    return _evaluate(node, at, data)
