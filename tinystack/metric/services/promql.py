"""A PromQL subset over the metric store, for ``/api/v1/query`` and ``query_range``
(dashboards, Grafana's Prometheus data source, the ``prometheus`` alarm rule).

Series are the metrics of resources as ``services/promseries.py`` names them; a sample
at time ``t`` is the mean of the newest bucket of the metric's finest granularity that
starts at most ``t`` and within the 5-minute lookback — so a range query stepping by
that granularity from a bucket boundary returns exactly the series
``GET /v1/metric/{id}/measures?granularity=g`` returns.

The language: number literals (``Inf``, ``NaN``) and parentheses; selectors with
``=``, ``!=``, ``=~``, ``!~`` matchers, with or without a metric name
(``{__name__=~"ceilometer_disk_.*"}``), and ranges (``[5m]``, ``[1h30m]``); ``rate``,
``increase`` and ``avg|min|max|sum|count_over_time`` of a range selector;
``sum|avg|min|max|count`` with ``by``/``without``; arithmetic (``^ * / % + -``, with
Prometheus' precedence) and comparisons (``== != > < >= <=``, which filter a vector,
or give 0/1 with ``bool``) between scalars or between a vector and a scalar. ``1+1``
is a scalar, as in Prometheus (Grafana's data source checks its connection with it).
An instant query of a range selector answers the buckets in the range (a ``matrix``).
Anything else is a ``bad_data`` error.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import truediv
from typing import TypeVar

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest
from tinystack.metric.policies import measures as rules
from tinystack.metric.services import _rows, archive_policies, measures, promseries, splits
from tinystack.metric.services.deps import Deps
from tinystack.metric.services.promseries import NAME, Labels, Matcher, MatcherSet

_T = TypeVar("_T")
LOOKBACK = 300.0
MAX_POINTS = 11000
Vector = dict[Labels, float]
Matrix = dict[Labels, list[tuple[float, float]]]

_TOKEN = re.compile(
    r"\s*(?:(?P<dur>(?:\d+(?:ms|[smhdwy]))+)(?![a-zA-Z0-9_])"
    r"|(?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)(?![a-zA-Z_])"
    r"|(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)|(?P<str>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|`[^`]*`)"
    r"|(?P<op>=~|!~|!=|==|>=|<=|[{}()\[\],=<>+\-*/%^]))"
)
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a",
            "b": "\b", "f": "\f", "v": "\v"}  # fmt: skip
_RANGE_FUNCS = ("rate", "increase", "avg_over_time", "min_over_time", "max_over_time",
                "sum_over_time", "count_over_time")  # fmt: skip
_AGGREGATIONS = ("sum", "avg", "min", "max", "count")
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": lambda a, b: a > b, "<": lambda a, b: a < b, ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}  # fmt: skip
_NAMES = {"scalar": "scalar", "vector": "instant vector", "matrix": "range vector"}
#: binary operators by precedence, loosest first (``^`` binds tightest, to the right)
_LEVELS = (tuple(_COMPARE), ("+", "-"), ("*", "/", "%"))


def _divide(a: float, b: float) -> float:
    if b:
        return a / b
    return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * (
        math.copysign(1.0, b))  # fmt: skip


def _modulo(a: float, b: float) -> float:
    return math.fmod(a, b) if b and math.isfinite(a) else math.nan


def _power(a: float, b: float) -> float:
    try:
        return math.pow(a, b)
    except OverflowError:
        return math.inf
    except ValueError:
        return math.nan


_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": _divide, "%": _modulo, "^": _power,
}  # fmt: skip


def bad(message: str) -> BadRequest:
    return BadRequest(message, code="bad_data")


def duration(text: str) -> float:
    """Seconds of a Prometheus duration (``5m``, ``1h30m``, ``250ms``) or of a number of
    seconds (``15``, ``0.5``), as the HTTP API's ``step`` takes them."""
    try:
        seconds = float(text)
    except ValueError:
        parts = re.findall(r"(\d+)(ms|[smhdwy])", text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise bad(f"cannot parse {text!r} to a valid duration") from None
        return float(sum(int(n) * _UNITS[u] for n, u in parts))
    if not math.isfinite(seconds):
        raise bad(f"cannot parse {text!r} to a valid duration")
    return seconds


@dataclass(frozen=True, slots=True)
class Number:
    value: float


@dataclass(frozen=True, slots=True)
class Selector:
    matchers: MatcherSet
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
    right: Node
    #: ``bool``: a comparison gives 0 or 1 in place of filtering
    bool_: bool = False
    #: ``scalar`` when both sides are, else ``vector`` (kept: chains are long)
    type: str = "vector"


Node = Number | Selector | Call | Aggregate | Binary


def type_of(node: Node) -> str:
    """Prometheus' type of the expression: ``scalar``, ``vector`` or ``matrix``."""
    if isinstance(node, Number):
        return "scalar"
    if isinstance(node, Selector):
        return "matrix" if node.range else "vector"
    if isinstance(node, Binary):
        return node.type
    return "vector"


def _unquote(text: str) -> str:
    if text[0] == "`":
        return text[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[0]), text[1:-1])


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        pos, end = 0, len(text.rstrip())
        while pos < end:
            match = _TOKEN.match(text, pos)
            if not match or match.end() == pos:
                start = len(text) - len(text[pos:].lstrip())
                raise self.error(f"unexpected character {text[start]!r}", start)
            kind = match.lastgroup or ""
            self.tokens.append((kind, match[kind], match.start(kind)))
            pos = match.end()
        self.pos = 0

    def error(self, message: str, at: int | None = None) -> BadRequest:
        if at is None:
            at = self.tokens[self.pos][2] if self.pos < len(self.tokens) else len(self.text)
        line = self.text.count("\n", 0, at) + 1
        column = at - (self.text.rfind("\n", 0, at) + 1) + 1
        return bad(f"{line}:{column}: parse error: {message}")

    def peek(self) -> tuple[str, str]:
        if self.pos < len(self.tokens):
            return self.tokens[self.pos][:2]
        return ("end", "")

    def _what(self) -> str:
        kind, text = self.peek()
        return "end of input" if kind == "end" else repr(text)

    def take(self, value: str | None = None) -> str:
        kind, text = self.peek()
        if kind == "end" or (value is not None and text != value):
            expected = f", expected {value!r}" if value else ""
            raise self.error(f"unexpected {self._what()}{expected}")
        self.pos += 1
        return text

    def parse(self) -> Node:
        if not self.tokens:
            raise self.error("no expression found in input")
        node = self.binary(0)
        if self.peek()[0] != "end":
            raise self.error(f"unexpected {self._what()}")
        return node

    def binary(self, level: int) -> Node:
        if level == len(_LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while self.peek()[0] == "op" and self.peek()[1] in _LEVELS[level]:
            at = self.pos
            op = self.take()
            flag = self.peek()[1] == "bool" and op in _COMPARE
            if flag:
                self.take()
            node = self.combine(op, node, self.binary(level + 1), flag, at)
        return node

    def combine(self, op: str, left: Node, right: Node, flag: bool, at: int) -> Binary:
        kinds = (type_of(left), type_of(right))
        where = self.tokens[at][2]
        if "matrix" in kinds:
            raise self.error("binary expression must contain only scalar and instant vector "
                             "types", where)  # fmt: skip
        if kinds == ("vector", "vector"):
            raise self.error("operations between two vectors are not supported, only "
                             "between a vector and a scalar", where)  # fmt: skip
        if op in _COMPARE and kinds == ("scalar", "scalar") and not flag:
            raise self.error("comparisons between scalars must use BOOL modifier", where)
        return Binary(op, left, right, flag, "scalar" if kinds == ("scalar",) * 2 else "vector")

    def unary(self) -> Node:
        """``-x`` and ``+x``; ``^`` binds tighter (``-2^2`` is -4), as in Prometheus."""
        if self.peek()[1] not in ("-", "+"):
            return self.power()
        at = self.pos
        sign = self.take()
        node = self.unary()
        if type_of(node) == "matrix":
            raise self.error("unary expression only allowed on expressions of type scalar "
                             "or instant vector", self.tokens[at][2])  # fmt: skip
        if sign == "+":
            return node
        if isinstance(node, Number):
            return Number(-node.value)
        return Binary("*", node, Number(-1.0), False, type_of(node))

    def power(self) -> Node:
        node = self.primary()
        if self.peek()[1] == "^":
            at = self.pos
            self.take()
            node = self.combine("^", node, self.unary(), False, at)  # right-associative
        return node

    def primary(self) -> Node:
        kind, text = self.peek()
        if kind == "num":
            self.take()
            return Number(float(text))
        if text == "(":
            self.take("(")
            node = self.binary(0)
            self.take(")")
            return node
        if text == "{":
            return self.selector(None)
        if kind != "name":
            raise self.error(f"unexpected {self._what()}")
        self.take()
        if text.lower() in ("inf", "nan"):
            return Number(float(text))
        if text in _AGGREGATIONS and self.peek()[1] in ("(", "by", "without"):
            return self.aggregate(text)
        if text in _RANGE_FUNCS and self.peek()[1] == "(":
            self.take("(")
            arg = self.primary()
            self.take(")")
            if not isinstance(arg, Selector) or not arg.range:
                raise self.error(f"{text} needs a range vector, such as metric[5m]")
            return Call(text, arg)
        return self.selector(text)

    def aggregate(self, op: str) -> Aggregate:
        grouping: tuple[str, ...] = ()
        without = False
        if self.peek()[1] in ("by", "without"):
            without = self.take() == "without"
            grouping = self._labels()
        self.take("(")
        arg = self.binary(0)
        self.take(")")
        if self.peek()[1] in ("by", "without"):
            without = self.take() == "without"
            grouping = self._labels()
        if type_of(arg) != "vector":
            raise self.error(f"expected type instant vector in aggregation expression, "
                             f"got {_NAMES[type_of(arg)]}")  # fmt: skip
        return Aggregate(op, arg, grouping, without)

    def _labels(self) -> tuple[str, ...]:
        self.take("(")
        names: list[str] = []
        while self.peek()[1] != ")":
            if self.peek()[0] != "name":
                raise self.error(f"unexpected {self._what()} in grouping")
            names.append(self.take())
            if self.peek()[1] == ",":
                self.take(",")
        self.take(")")
        return tuple(names)

    def selector(self, name: str | None) -> Selector:
        at = self.pos
        found: list[Matcher] = [Matcher(NAME, "=", name)] if name else []
        if self.peek()[1] == "{":
            self.take("{")
            while self.peek()[1] != "}":
                if self.peek()[0] != "name":
                    raise self.error(f"unexpected {self._what()} in label matching, "
                                     f"expected label")  # fmt: skip
                label, op = self.take(), self.take()
                if op not in ("=", "!=", "=~", "!~"):
                    raise self.error(f"unexpected {op!r} in label matching, expected "
                                     f"label matching operator")  # fmt: skip
                kind, value = self.peek()
                if kind != "str":
                    raise self.error("unexpected token in label matching, expected string")
                self.take()
                found.append(Matcher(label, op, _unquote(value)))
                if self.peek()[1] == ",":
                    self.take(",")
            self.take("}")
        if all(m.test({}) for m in found):
            raise self.error("vector selector must contain at least one non-empty matcher",
                             self.tokens[min(at, len(self.tokens) - 1)][2])  # fmt: skip
        span = 0.0
        if self.peek()[1] == "[":
            self.take("[")
            span = duration(self.take())
            self.take("]")
        return Selector(tuple(found), span)


def parse(text: str) -> Node:
    try:
        return _Parser(text).parse()
    except RecursionError:
        raise bad("1:1: parse error: expression nested too deeply") from None


def matchers(text: str) -> MatcherSet:
    """A series selector (``match[]``): its matchers; 400 for anything else."""
    node = parse(text)
    if not isinstance(node, Selector) or node.range:
        raise bad(f"1:1: parse error: expected a series selector, got {text!r}")
    return node.matchers


@dataclass
class _Series:
    labels: Labels
    #: (bucket start, mean, last, time of last), oldest first
    points: list[tuple[float, float, float, float]]


def selectors(node: Node) -> Iterable[Selector]:
    if isinstance(node, Selector):
        yield node
    elif isinstance(node, Call):
        yield node.arg
    elif isinstance(node, Aggregate):
        yield from selectors(node.arg)
    elif isinstance(node, Binary):
        yield from selectors(node.left)
        yield from selectors(node.right)


def _load(
    deps: Deps, ctx: RequestContext, wanted: set[Selector], lo: float, hi: float
) -> dict[Selector, list[_Series]]:
    """Each selector's series with their buckets in (lo, hi]."""
    found: dict[Selector, list[_Series]] = {sel: [] for sel in wanted}
    if not wanted:
        return found
    window = (math.nextafter(lo, math.inf), math.nextafter(hi, math.inf))
    fields = (splits.SUM, splits.COUNT, splits.LAST, splits.LAST_AT)
    with deps.db.reader() as session:
        for metric, resource in _rows.named_metrics(session):
            labels = promseries.labels_of(metric, resource)
            hits = [sel for sel in wanted if all(m.test(labels) for m in sel.matchers)]
            # no bucket after ``lo`` when the newest measure is at or before it
            if not hits or metric.newest is None or metric.newest <= lo:
                continue
            if not ctx.allowed(rules.GET, _rows.metric_target(metric, resource)):
                continue
            policy = archive_policies.record(
                _rows.archive_policy(session, metric.archive_policy_name)
            )
            finest = min(d.granularity for d in policy.definition)
            (part,) = splits.read(session, metric.id, measures.MEASURES, [finest], fields,
                                  window, measures.cutoffs(policy, metric.newest))  # fmt: skip
            stats = part.columns
            series = _Series(tuple(sorted(labels.items())),
                             list(zip(stats[splits.TIMESTAMP],
                                      map(truediv, stats[splits.SUM], stats[splits.COUNT]),
                                      stats[splits.LAST], stats[splits.LAST_AT],
                                      strict=True)))  # fmt: skip
            for sel in hits:
                found[sel].append(series)
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
    return tuple(item for item in labels if item[0] != NAME)


def _binary(node: Binary, left: Vector | float, right: Vector | float) -> Vector | float:
    if isinstance(left, float) and isinstance(right, float):
        if node.op in _COMPARE:
            return float(_COMPARE[node.op](left, right))
        return _ARITH[node.op](left, right)
    vector, scalar = (left, right) if isinstance(left, dict) else (right, left)
    assert isinstance(vector, dict) and isinstance(scalar, float)
    swap = vector is right

    def pair(value: float) -> tuple[float, float]:
        return (scalar, value) if swap else (value, scalar)

    if node.op not in _COMPARE:
        return {_drop_name(k): _ARITH[node.op](*pair(v)) for k, v in vector.items()}
    test = _COMPARE[node.op]
    if node.bool_:
        return {_drop_name(k): float(test(*pair(v))) for k, v in vector.items()}
    return {k: v for k, v in vector.items() if test(*pair(v))}  # the vector's value stays


def _evaluate(node: Node, t: float, data: dict[Selector, list[_Series]]) -> Vector | float:
    if isinstance(node, Number):
        return node.value
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
        return _binary(node, _evaluate(node.left, t, data), _evaluate(node.right, t, data))
    groups: dict[Labels, list[float]] = defaultdict(list)
    inner = _evaluate(node.arg, t, data)
    assert isinstance(inner, dict)
    for labels, value in inner.items():
        keep = [(k, v) for k, v in labels if k != NAME
                and ((k not in node.labels) if node.without else (k in node.labels))]  # fmt: skip
        groups[tuple(keep)].append(value)
    combine: dict[str, Callable[[list[float]], float]] = {
        "sum": sum, "min": min, "max": max, "avg": lambda v: sum(v) / len(v),
        "count": lambda v: float(len(v)),
    }  # fmt: skip
    return {labels: combine[node.op](values) for labels, values in groups.items()}


def _span(node: Node) -> float:
    return max([LOOKBACK, *(s.range for s in selectors(node))])


def query_range(
    deps: Deps, ctx: RequestContext, text: str, start: float, end: float, step: float
) -> Matrix:
    """The expression at ``start``, ``start + step``, … ``end``: each series' points (a
    scalar expression is one series without labels)."""
    return _deep(lambda: _query_range(deps, ctx, text, start, end, step))


def _query_range(
    deps: Deps, ctx: RequestContext, text: str, start: float, end: float, step: float
) -> Matrix:
    if end < start:
        raise bad('invalid parameter "end": end timestamp must not be before start time')
    if step <= 0:
        raise bad('invalid parameter "step": zero or negative query resolution step widths '
                  "are not accepted. Try a positive integer")  # fmt: skip
    if (end - start) // step > MAX_POINTS:
        raise bad("exceeded maximum resolution of 11,000 points per timeseries. Try "
                  "decreasing the query resolution (?step=XX)")  # fmt: skip
    node = _parse_query(text)
    if type_of(node) == "matrix":
        raise bad('invalid parameter "query": invalid expression type "range vector" for '
                  "range query, must be Scalar or instant Vector")  # fmt: skip
    data = _load(deps, ctx, set(selectors(node)), start - _span(node), end)
    result: Matrix = defaultdict(list)
    for i in range(math.floor((end - start) / step + 1e-9) + 1):
        t = start + i * step
        value = _evaluate(node, t, data)
        for labels, sample in value.items() if isinstance(value, dict) else [((), value)]:
            result[labels].append((t, sample))
    return dict(result)


@dataclass(frozen=True, slots=True)
class Instant:
    """An instant query's answer: a ``scalar``, a ``vector`` or (a range selector's
    buckets) a ``matrix``."""

    result_type: str
    scalar: float = 0.0
    vector: Vector = field(default_factory=dict)
    matrix: Matrix = field(default_factory=dict)


def query(deps: Deps, ctx: RequestContext, text: str, at: float) -> Instant:
    """The expression at ``at``."""
    return _deep(lambda: _query(deps, ctx, text, at))


def _query(deps: Deps, ctx: RequestContext, text: str, at: float) -> Instant:
    node = _parse_query(text)
    data = _load(deps, ctx, set(selectors(node)), at - _span(node), at)
    if isinstance(node, Selector) and node.range:
        matrix = {s.labels: [(p[0], p[1]) for p in _window(s, at, node.range)] for s in data[node]}
        return Instant("matrix", matrix={k: v for k, v in matrix.items() if v})
    value = _evaluate(node, at, data)
    if isinstance(value, float):
        return Instant("scalar", scalar=value)
    return Instant("vector", vector=value)


def _parse_query(text: str) -> Node:
    try:
        return parse(text)
    except BadRequest as exc:
        raise bad(f'invalid parameter "query": {exc.message}') from None


def _deep(what: Callable[[], _T]) -> _T:
    """``what()``, a 400 when the expression is too deeply nested to evaluate."""
    try:
        return what()
    except RecursionError:
        raise bad("expression nested too deeply") from None
