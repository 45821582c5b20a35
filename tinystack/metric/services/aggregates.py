"""``/v1/aggregates``: Gnocchi's operations language over metrics' aggregated points.

Supported: ``(metric <id> <aggregation>)``, ``(metric (<id> <agg>) (<id> <agg>) …)``
and ``(aggregate <mean|min|max|sum|count> <metric expression>)``, which combines the
series at each timestamp of each granularity (with ``needed_overlap`` 100, only the
timestamps every series has; with ``fill``, the others filled). With a resource search
(``search`` and ``resource_type``), the references name metrics (``fnmatch`` patterns) of
every resource the search finds, optionally grouped by resource attributes
(``groupby``). Not yet: arithmetic operators, ``resample`` and ``rolling``.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from statistics import fmean
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.metric import models
from tinystack.metric.policies import measures as rules
from tinystack.metric.services import _rows, backlog, measures, search
from tinystack.metric.services.deps import Deps
from tinystack.metric.services.records import Measure
from tinystack.metric.services.resources import creator_of

_TOKEN = re.compile(r"\(|\)|[^\s()]+")
Tree = str | list["Tree"]
_COMBINE: dict[str, Callable[[list[float]], float]] = {
    "mean": fmean,
    "min": min,
    "max": max,
    "sum": math.fsum,
    "count": lambda values: float(len(values)),
}


@dataclass(frozen=True, slots=True)
class AggregateQuery:
    granularity: float | None = None
    start: float | None = None
    stop: float | None = None
    needed_overlap: float = 100.0
    fill: float | None = None
    #: aggregate the metrics' queued measures before reading (Gnocchi's ``refresh``)
    refresh: bool = False


@dataclass(frozen=True, slots=True)
class ResourceSearch:
    resource_type: str
    #: Gnocchi's JSON query (None: every resource)
    query: object = None
    groupby: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Series:
    #: the metric's id, or its name in ``resource_id``
    metric: str
    aggregation: str
    points: tuple[Measure, ...]
    resource_id: str | None = None


@dataclass(frozen=True, slots=True)
class Aggregated:
    series: tuple[Series, ...] = ()
    #: the combined series of ``(aggregate …)``, None for bare metric references
    aggregated: tuple[Measure, ...] | None = None
    #: the ``groupby`` attributes' values of this group
    group: dict[str, Any] | None = None


def parse(text: str) -> Tree:
    tokens = _TOKEN.findall(text)
    pos = 0

    def node() -> Tree:
        nonlocal pos
        if pos >= len(tokens):
            raise BadRequest("Invalid operations: unexpected end")
        token: str = tokens[pos]
        pos += 1
        if token == ")":
            raise BadRequest("Invalid operations: unexpected ')'")
        if token != "(":
            return token
        items: list[Tree] = []
        while pos < len(tokens) and tokens[pos] != ")":
            items.append(node())
        if pos >= len(tokens):
            raise BadRequest("Invalid operations: missing ')'")
        pos += 1
        return items

    tree = node()
    if pos != len(tokens):
        raise BadRequest("Invalid operations: trailing input")
    return tree


def _references(tree: Tree) -> list[tuple[str, str]]:
    if not isinstance(tree, list) or not tree or tree[0] != "metric":
        raise BadRequest(f"Invalid operations: expected (metric …), got {tree}")
    args = tree[1:]
    if len(args) == 2 and all(isinstance(a, str) for a in args):
        return [(str(args[0]), str(args[1]))]
    refs = []
    for arg in args:
        if not isinstance(arg, list) or len(arg) != 2 or not all(isinstance(a, str) for a in arg):
            raise BadRequest(f"Invalid operations: bad metric reference {arg}")
        refs.append((str(arg[0]), str(arg[1])))
    return refs


def _split(operations: str) -> tuple[str | None, list[tuple[str, str]]]:
    """The ``(aggregate <method> …)`` method (None: bare references) and the references."""
    tree = parse(operations)
    combine = None
    if isinstance(tree, list) and tree and tree[0] == "aggregate":
        if len(tree) != 3 or not isinstance(tree[1], str) or tree[1] not in _COMBINE:
            raise BadRequest(f"Invalid operations: (aggregate <{'|'.join(_COMBINE)}> …)")
        combine, tree = tree[1], tree[2]
    return combine, _references(tree)


def _result(combine: str | None, found: list[Series], query: AggregateQuery) -> Aggregated:
    if combine is None:
        return Aggregated(series=tuple(found))
    combined = _combine(combine, [s.points for s in found], query)
    return Aggregated(aggregated=tuple(combined))


def evaluate(deps: Deps, ctx: RequestContext, operations: str, query: AggregateQuery) -> Aggregated:
    combine, refs = _split(operations)
    if query.refresh:
        with deps.db.reader() as session:  # authorized before any work is done for them
            for metric_id, _ in refs:
                _rows.authorized_metric(session, ctx, metric_id, rules.GET)
        measures.process_many(deps, dict.fromkeys(metric_id for metric_id, _ in refs))
    found = []
    with deps.db.reader() as session:
        for metric_id, method in refs:
            row = _rows.authorized_metric(session, ctx, metric_id, rules.GET)
            points = measures.series(
                session,
                row,
                measures.MeasureQuery(method, query.granularity, query.start, query.stop),
            )
            found.append(Series(metric_id, method, tuple(points)))
    return _result(combine, found, query)


def evaluate_search(
    deps: Deps, ctx: RequestContext, operations: str, query: AggregateQuery, wanted: ResourceSearch
) -> list[Aggregated]:
    """The operations over the named metrics of the resources ``wanted`` finds: one
    result, or one per group with ``groupby`` (groups without such metrics left out);
    404 when none of the resources has them."""
    combine, refs = _split(operations)
    if query.refresh:  # the queued measures of the found resources' metrics first
        with deps.db.reader() as session:
            ids = [r.id for r in _found(session, ctx, wanted)]
            named = select(models.Metric.id).where(models.Metric.resource_id.in_(ids))
            queued = backlog.pending_of(session, session.scalars(named))
        measures.process_many(deps, queued)
    results = []
    with deps.db.reader() as session:
        found = _found(session, ctx, wanted)
        groups: dict[tuple[Any, ...], list[models.Resource]] = {}
        for row in found:
            values = search.values_of(row)
            groups.setdefault(tuple(values.get(a) for a in wanted.groupby), []).append(row)
        for key, rows in groups.items():
            series = _named_series(session, ctx, rows, refs, query)
            if series:
                group = dict(zip(wanted.groupby, key, strict=True)) if wanted.groupby else None
                one = _result(combine, series, query)
                results.append(Aggregated(one.series, one.aggregated, group))
    if not results:
        names = sorted({name for name, _ in refs})
        raise NotFound(f"Metrics {names} do not exist")
    return results


def _found(session: Session, ctx: RequestContext, wanted: ResourceSearch) -> list[models.Resource]:
    """The resources of the search the caller may see (400 for an unknown groupby)."""
    accepts = search.accepts(session, wanted.resource_type, wanted.query, creator_of(ctx))
    attributes = _rows.resource_type(session, wanted.resource_type).attributes
    unknown = [a for a in wanted.groupby if a not in search.COMMON and a not in attributes]
    if unknown:
        raise BadRequest(f"Invalid input: unknown groupby attribute {unknown[0]!r}")
    return [r for r in _rows.visible(session, ctx, wanted.resource_type)
            if accepts(search.values_of(r))]  # fmt: skip


def _named_series(
    session: Session,
    ctx: RequestContext,
    rows: list[models.Resource],
    refs: list[tuple[str, str]],
    query: AggregateQuery,
) -> list[Series]:
    found = []
    for row in rows:
        named = session.scalars(select(models.Metric).where(models.Metric.resource_id == row.id))
        metrics = sorted(named, key=lambda m: m.name or "")
        for pattern, method in refs:
            for metric in metrics:
                if metric.name is None or not fnmatch.fnmatchcase(metric.name, pattern):
                    continue
                ctx.can(rules.GET, _rows.metric_target(metric, row))
                points = measures.series(
                    session,
                    metric,
                    measures.MeasureQuery(method, query.granularity, query.start, query.stop),
                )
                found.append(Series(metric.name, method, tuple(points), row.id))
    return found


def _combine(
    method: str, all_series: list[tuple[Measure, ...]], query: AggregateQuery
) -> list[Measure]:
    by_key: dict[tuple[float, float], list[float]] = {}
    for one in all_series:
        for point in one:
            by_key.setdefault((point.granularity, point.timestamp), []).append(point.value)
    wanted = len(all_series)
    combined = []
    for (gran, ts), values in sorted(by_key.items(), key=lambda kv: (-kv[0][0], kv[0][1])):
        if len(values) < wanted:
            if query.fill is not None:
                values = values + [query.fill] * (wanted - len(values))
            elif len(values) * 100.0 / wanted < query.needed_overlap:
                continue
        combined.append(Measure(ts, gran, float(_COMBINE[method](values))))
    return combined
