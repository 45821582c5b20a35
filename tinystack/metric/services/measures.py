"""Measures: ingestion into the archive policy's rollups, and reading them back.

Each measure lands, for every granularity of the metric's archive policy, in the bucket
``floor(t / g) * g`` (count, sum, sum of squares, min, max, last); with a ``rate:*``
method the change from the previous measure lands the same way in a second series.
Buckets older than the policy's timespan before the newest one are trimmed; measures
older than the back window (``back_window`` buckets of the coarsest granularity before
the bucket of the newest measure stored before the batch) are ignored, as Gnocchi
does.

The API does not aggregate: it validates and queues the measures in the backlog
(``services/backlog.py``), as Gnocchi's API queues them for metricd. ``process`` (the
metric workers, ``tinystack/metric/metricd.py``, and a read's ``refresh``) takes a
metric's queued measures in order, aggregates them with ``ingest`` and deletes them in
one write transaction: a crash before the commit leaves the splits and the backlog as
they were, so nothing is lost or counted twice. The metric's row is the claim: on a
server database it is locked ``FOR UPDATE`` first (``SKIP LOCKED`` for a worker, who
moves on to another metric; a ``refresh`` waits); SQLite serializes writers.
"""

from __future__ import annotations

import math
import uuid
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import truediv

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.common.timeutils import parse_isotime
from tinystack.metric import models
from tinystack.metric.exception import UnknownMetrics
from tinystack.metric.policies import measures as rules
from tinystack.metric.services import (
    _rows,
    archive_policies,
    backlog,
    metrics,
    resources,
    splits,
)
from tinystack.metric.services.deps import Deps
from tinystack.metric.services.records import ArchivePolicyRecord, Measure, MeasureSeries

MEASURES, CHANGES = 0, 1
#: the queued measures of a metric aggregated in one transaction at most (its rows
#: beyond are left for the next one)
CHUNK = 100_000


@dataclass(frozen=True, slots=True)
class MeasureQuery:
    aggregation: str = "mean"
    granularity: float | None = None
    start: float | None = None
    stop: float | None = None
    #: aggregate the metric's queued measures before reading (Gnocchi's ``refresh``)
    refresh: bool = False


def parse_timestamp(value: object) -> float:
    """Epoch seconds from an ISO 8601 time or a number of seconds (Gnocchi takes both)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            return parse_isotime(value).timestamp()
        except ValueError:
            pass
    raise BadRequest(f"Invalid input: unable to parse timestamp {value!r}")


def parse_measures(body: object) -> list[tuple[float, float]]:
    """``[{"timestamp": ..., "value": ...}, ...]`` → (epoch, value) pairs."""
    if not isinstance(body, list):
        raise BadRequest("Invalid input: expected a list of measures")
    parsed = []
    for item in body:
        if not isinstance(item, dict) or "timestamp" not in item or "value" not in item:
            raise BadRequest("Invalid input: a measure needs a timestamp and a value")
        value = item["value"]
        if isinstance(value, bool) or not isinstance(value, int | float):
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise BadRequest(f"Invalid input: {value!r} is not a number") from None
        parsed.append((parse_timestamp(item["timestamp"]), float(value)))
    return parsed


def _wants_rates(policy: ArchivePolicyRecord) -> bool:
    return any(m.startswith("rate:") for m in policy.aggregation_methods)


def _accumulate(
    buckets: splits.Buckets,
    kind: int,
    granularities: Sequence[float],
    at: float,
    value: float,
) -> None:
    for gran in granularities:
        key = (kind, gran, math.floor(at / gran) * gran)
        stats = buckets.get(key)
        if stats is None:  # count, sum, sumsq, min, max, last, last_at
            buckets[key] = [1, value, value * value, value, value, value, at]
        else:
            stats[0] += 1
            stats[1] += value
            stats[2] += value * value
            stats[3] = min(stats[3], value)
            stats[4] = max(stats[4], value)
            if at >= stats[6]:
                stats[5], stats[6] = value, at


def ingest(
    session: Session,
    metric: models.Metric,
    measures: Iterable[tuple[float, float]],
) -> int:
    """Aggregate ``measures`` into ``metric``'s rollups; returns how many were kept. The
    caller holds the metric's claim (``process_in``: its row locked on a server database),
    so no one else reads, merges or rewrites its splits meanwhile."""
    policy = archive_policies.record(_rows.archive_policy(session, metric.archive_policy_name))
    grans = [d.granularity for d in policy.definition]
    ordered = sorted(measures)
    if not ordered:
        return 0
    coarsest = max(grans)
    newest = max(metric.newest or ordered[-1][0], ordered[-1][0])
    kept = ordered
    if metric.newest is not None:  # the back window counts from what was stored before
        last_block = math.floor(metric.newest / coarsest) * coarsest
        cutoff = last_block - policy.back_window * coarsest
        kept = [(t, v) for t, v in ordered if t >= cutoff]
    buckets: splits.Buckets = {}
    rates = _wants_rates(policy)
    previous = (metric.newest, metric.newest_value)
    for at, value in kept:
        _accumulate(buckets, MEASURES, grans, at, value)
        if rates and previous[0] is not None and previous[1] is not None and at > previous[0]:
            _accumulate(buckets, CHANGES, grans, at, value - previous[1])
        if previous[0] is None or at >= previous[0]:
            previous = (at, value)
    limits = cutoffs(policy, newest)
    splits.merge(session, metric.id, buckets, limits)
    splits.trim(session, metric.id, limits, cutoffs(policy, metric.newest))
    metric.newest, metric.newest_value = previous
    return len(kept)


def cutoffs(policy: ArchivePolicyRecord, newest: float | None) -> dict[float, float]:
    """Per granularity, the newest bucket time beyond its timespan (those at or before
    it are trimmed), counted from the bucket of the newest measure."""
    if newest is None:
        return {}
    return {
        d.granularity: math.floor(newest / d.granularity) * d.granularity - d.points * d.granularity
        for d in policy.definition
    }


def add(deps: Deps, ctx: RequestContext, metric_id: str, body: object) -> None:
    measures = parse_measures(body)

    def tx(session: Session) -> None:
        metric = _rows.authorized_metric(session, ctx, metric_id, rules.POST)
        backlog.append(session, metric.id, measures)

    deps.db.write(tx)
    deps.wake.set()


def add_to_resource(
    deps: Deps, ctx: RequestContext, rtype: str, resource_id: str, name: str, body: object
) -> None:
    measures = parse_measures(body)

    def tx(session: Session) -> None:
        resource = _rows.resource(session, rtype, resource_id, resources.creator_of(ctx))
        metric = _rows.metric_of_resource(session, ctx, resource, name, rules.POST)
        backlog.append(session, metric.id, measures)

    deps.db.write(tx)
    deps.wake.set()


#: the columns each method's value is computed from
_FIELDS = {
    "mean": (splits.SUM, splits.COUNT), "std": (splits.COUNT, splits.SUM, splits.SUMSQ),
    "count": (splits.COUNT,), "min": (splits.MIN,), "max": (splits.MAX,), "sum": (splits.SUM,),
    "last": (splits.LAST,),
}  # fmt: skip


def _values(method: str, columns: dict[int, array[float]]) -> tuple[array[float], array[float]]:
    """``method``'s value of each bucket, and the buckets' times (std leaves out the
    buckets of one measure)."""
    stamps = columns[splits.TIMESTAMP]
    if method == "mean":
        return stamps, array("d", map(truediv, columns[splits.SUM], columns[splits.COUNT]))
    if method == "std":
        kept, found = array("d"), array("d")
        stats = (columns[splits.COUNT], columns[splits.SUM], columns[splits.SUMSQ])
        for ts, n, total, sumsq in zip(stamps, *stats, strict=True):
            if n >= 2:
                kept.append(ts)
                found.append(math.sqrt(max(0.0, (sumsq - total * total / n) / (n - 1))))
        return kept, found
    (field,) = _FIELDS[method]
    return stamps, columns[field]


def columns(session: Session, metric: models.Metric, query: MeasureQuery) -> list[MeasureSeries]:
    """The aggregated points of ``metric``: every granularity (coarsest first) or one,
    read from its splits as columns."""
    policy = archive_policies.record(_rows.archive_policy(session, metric.archive_policy_name))
    method = query.aggregation
    grans = [d.granularity for d in policy.definition]
    if method not in policy.aggregation_methods or (
        query.granularity is not None and query.granularity not in grans
    ):
        at = query.granularity if query.granularity is not None else "any"
        raise NotFound(f"Aggregation method '{method}' at granularity '{at}' for metric "
                       f"{metric.id} does not exist")  # fmt: skip
    kind = CHANGES if method.startswith("rate:") else MEASURES
    base = method.removeprefix("rate:")
    wanted = [query.granularity] if query.granularity is not None else sorted(grans, reverse=True)
    limits = cutoffs(policy, metric.newest)
    found = []
    window = (query.start, query.stop)
    for part in splits.read(session, metric.id, kind, wanted, _FIELDS[base], window, limits):
        found.append(MeasureSeries(part.granularity, *_values(base, part.columns)))
    return found


def series(session: Session, metric: models.Metric, query: MeasureQuery) -> list[Measure]:
    """The aggregated points of ``metric`` as measures (coarsest granularity first)."""
    return [m for part in columns(session, metric, query) for m in part.measures()]


def get(
    deps: Deps, ctx: RequestContext, metric_id: str, query: MeasureQuery
) -> list[MeasureSeries]:
    if query.refresh:
        with deps.db.reader() as session:  # authorized before any work is done for it
            _rows.authorized_metric(session, ctx, metric_id, rules.GET)
        process(deps, metric_id)
    with deps.db.reader() as session:
        return columns(session, _rows.authorized_metric(session, ctx, metric_id, rules.GET), query)


def get_of_resource(
    deps: Deps, ctx: RequestContext, rtype: str, resource_id: str, name: str, query: MeasureQuery
) -> list[MeasureSeries]:
    def metric_of(session: Session) -> models.Metric:
        resource = _rows.resource(session, rtype, resource_id, resources.creator_of(ctx))
        return _rows.metric_of_resource(session, ctx, resource, name, rules.GET)

    if query.refresh:
        with deps.db.reader() as session:
            metric_id = metric_of(session).id
        process(deps, metric_id)
    with deps.db.reader() as session:
        return columns(session, metric_of(session), query)


def _claim(session: Session, metric_id: str, wait: bool) -> models.Metric | None:
    """The metric's row, locked on a server database (None: gone, or a worker has it)."""
    query = select(models.Metric).where(models.Metric.id == metric_id)
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update(skip_locked=not wait)
    return session.scalars(query).first()


def process_in(session: Session, metric_id: str, wait: bool = True) -> tuple[int, bool]:
    """Aggregate up to ``CHUNK`` of the metric's queued measures and delete them, in the
    caller's transaction; returns how many were taken and whether more are queued."""
    metric = _claim(session, metric_id, wait)
    if metric is None:
        return 0, False
    ids: list[int] = []
    found: list[tuple[float, float]] = []
    more = False
    for row_id, count, blob in backlog.queued(session, metric_id):
        if found and len(found) + count > CHUNK:
            more = True
            break
        ids.append(row_id)
        found.extend(backlog.unpack(blob))
    if not ids:
        return 0, False
    ingest(session, metric, found)
    session.execute(delete(models.Backlog).where(models.Backlog.id.in_(ids)))
    return len(found), more


def process(deps: Deps, metric_id: str, wait: bool = True) -> int:
    """Aggregate all of the metric's queued measures (one transaction per ``CHUNK``);
    ``wait=False``: skip a metric another worker holds (server databases)."""
    total, more = 0, True
    while more:
        taken, more = deps.db.write(lambda session: process_in(session, metric_id, wait))
        total += taken
    return total


def process_many(deps: Deps, metric_ids: Iterable[str], wait: bool = True) -> int:
    return sum(process(deps, metric_id, wait) for metric_id in metric_ids)


def drain(deps: Deps) -> int:
    """Process every queued measure (tests; the workers take them in turn)."""
    total = 0
    while found := backlog.pending(deps):
        total += process_many(deps, found)
    return total


def _metric_id(key: str) -> str:
    """A batch's key as a metric id (Gnocchi takes any spelling of a UUID)."""
    try:
        return str(uuid.UUID(key))
    except ValueError:
        raise BadRequest(f"Invalid input: {key!r} is not a metric id") from None


def batch_metrics(deps: Deps, ctx: RequestContext, body: object) -> None:
    """``/v1/batch/metrics/measures``: ``{metric id: [measures]}``, queued in one
    transaction as the resources' batch is. Every measure is parsed, every metric found
    and every one authorized as a single metric's POST is before any is queued: unknown
    ids are one 400 listing them all, and nothing of a refused batch is stored."""
    if not isinstance(body, dict):
        raise BadRequest("Invalid input: expected {metric id: [measures]}")
    wanted: dict[str, list[tuple[float, float]]] = {}
    for key, data in body.items():
        wanted.setdefault(_metric_id(key), []).extend(parse_measures(data))

    def tx(session: Session) -> None:
        found = set(session.scalars(select(models.Metric.id).where(models.Metric.id.in_(wanted))))
        unknown = sorted(set(wanted) - found)
        if unknown:
            raise UnknownMetrics(unknown)
        for metric_id, measures in wanted.items():
            _rows.authorized_metric(session, ctx, metric_id, rules.POST)
            backlog.append(session, metric_id, measures)

    _queue(deps, tx)


def _queue(deps: Deps, tx: Callable[[Session], None]) -> None:
    """Run a batch's transaction, then wake the metric workers for what it queued."""
    deps.db.write(tx)
    deps.wake.set()


def batch_resources(
    deps: Deps,
    ctx: RequestContext,
    body: dict[str, dict[str, object]],
    create_metrics: bool,
) -> None:
    """``/v1/batch/resources/metrics/measures``: measures of named metrics of resources,
    queued in one transaction; with ``create_metrics`` missing metrics are created (their
    archive policy and unit given beside the measures, as Ceilometer sends them)."""

    def tx(session: Session) -> None:
        for resource_id, named in body.items():
            resource = _rows.resource(session, "generic", resource_id, resources.creator_of(ctx))
            found = {
                row.name: row
                for row in session.scalars(
                    select(models.Metric).where(models.Metric.resource_id == resource.id)
                )
            }
            for name, given in named.items():
                data = given.get("measures") if isinstance(given, dict) else given
                measures = parse_measures(data)
                metric = found.get(name)
                if metric is not None:
                    ctx.can(rules.POST, _rows.metric_target(metric, resource))
                else:
                    if not create_metrics:
                        raise BadRequest(f"Unknown metrics: {resource_id}/{name}")
                    spec = given if isinstance(given, dict) else {}
                    wanted = metrics.MetricSpec(
                        _text(spec.get("archive_policy_name")), _text(spec.get("unit"))
                    )
                    metrics.attach(session, ctx, resource, {name: wanted})
                    metric = _rows.metric_of_resource(session, ctx, resource, name, rules.POST)
                backlog.append(session, metric.id, measures)

    _queue(deps, tx)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
