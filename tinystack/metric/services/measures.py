"""Measures: ingestion into the archive policy's rollups, and reading them back.

Each measure lands, for every granularity of the metric's archive policy, in the bucket
``floor(t / g) * g`` (count, sum, sum of squares, min, max, last); with a ``rate:*``
method the change from the previous measure lands the same way in a second series.
Buckets older than the policy's timespan before the newest one are trimmed; measures
older than the back window (``back_window`` buckets of the coarsest granularity before
the bucket of the newest measure stored before the batch) are ignored, as Gnocchi
does. Ingestion is synchronous (Gnocchi queues
measures for its metricd workers; here the write transaction aggregates them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.common.timeutils import parse_isotime
from tinystack.metric import models
from tinystack.metric.policies import measures as rules
from tinystack.metric.services import _rows, archive_policies, metrics, resources
from tinystack.metric.services.deps import Deps
from tinystack.metric.services.records import ArchivePolicyRecord, Measure

MEASURES, CHANGES = 0, 1


@dataclass(frozen=True, slots=True)
class MeasureQuery:
    aggregation: str = "mean"
    granularity: float | None = None
    start: float | None = None
    stop: float | None = None


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
    buckets: dict[tuple[int, float, float], list[float]],
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


def ingest(session: Session, metric: models.Metric, measures: Iterable[tuple[float, float]]) -> int:
    """Aggregate ``measures`` into ``metric``'s rollups; returns how many were kept."""
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
    buckets: dict[tuple[int, float, float], list[float]] = {}
    rates = _wants_rates(policy)
    previous = (metric.newest, metric.newest_value)
    for at, value in kept:
        _accumulate(buckets, MEASURES, grans, at, value)
        if rates and previous[0] is not None and previous[1] is not None and at > previous[0]:
            _accumulate(buckets, CHANGES, grans, at, value - previous[1])
        if previous[0] is None or at >= previous[0]:
            previous = (at, value)
    _merge(session, metric.id, buckets)
    metric.newest, metric.newest_value = previous
    for item in policy.definition:
        last = math.floor(newest / item.granularity) * item.granularity
        session.execute(
            delete(models.Point).where(
                models.Point.metric_id == metric.id,
                models.Point.granularity == item.granularity,
                models.Point.timestamp <= last - item.points * item.granularity,
            )
        )
    return len(kept)


def _merge(
    session: Session, metric_id: str, buckets: dict[tuple[int, float, float], list[float]]
) -> None:
    if not buckets:
        return
    stamps = {ts for _, _, ts in buckets}
    existing = {
        (p.kind, p.granularity, p.timestamp): p
        for p in session.scalars(
            select(models.Point).where(
                models.Point.metric_id == metric_id,
                models.Point.timestamp >= min(stamps),
                models.Point.timestamp <= max(stamps),
            )
        )
    }
    fresh = []
    for key, (count, total, squares, low, high, last, last_at) in buckets.items():
        point = existing.get(key)
        if point is None:
            kind, gran, ts = key
            fresh.append({
                "metric_id": metric_id, "kind": kind, "granularity": gran, "timestamp": ts,
                "count": int(count), "sum": total, "sumsq": squares, "min": low, "max": high,
                "last": last, "last_at": last_at,
            })  # fmt: skip
            continue
        point.count += int(count)
        point.sum += total
        point.sumsq += squares
        point.min, point.max = min(point.min, low), max(point.max, high)
        if last_at >= point.last_at:
            point.last, point.last_at = last, last_at
    if fresh:  # one executemany: a week of new minutes is 10,080 rows, no ORM objects
        session.execute(insert(models.Point), fresh)


def add(deps: Deps, ctx: RequestContext, metric_id: str, body: object) -> None:
    measures = parse_measures(body)

    def tx(session: Session) -> None:
        ingest(session, _rows.authorized_metric(session, ctx, metric_id, rules.POST), measures)

    deps.db.write(tx)


def add_to_resource(
    deps: Deps, ctx: RequestContext, rtype: str, resource_id: str, name: str, body: object
) -> None:
    measures = parse_measures(body)

    def tx(session: Session) -> None:
        resource = _rows.resource(session, rtype, resource_id, resources.creator_of(ctx))
        ingest(
            session, _rows.metric_of_resource(session, ctx, resource, name, rules.POST), measures
        )

    deps.db.write(tx)


def value_of(point: models.Point, method: str) -> float | None:
    """``method``'s value of a bucket (None where it has none: std of one measure)."""
    return _value(method, point.count, point.sum, point.sumsq, point.min, point.max, point.last)


def _value(method: str, n: int, total: float, sumsq: float, low: float, high: float,
           last: float) -> float | None:  # fmt: skip
    if method == "mean":
        return total / n
    if method == "std":
        if n < 2:
            return None
        return math.sqrt(max(0.0, (sumsq - total * total / n) / (n - 1)))
    if method == "count":
        return float(n)
    return {"min": low, "max": high, "sum": total, "last": last}[method]


_STATS = (models.Point.count, models.Point.sum, models.Point.sumsq, models.Point.min,
          models.Point.max, models.Point.last)  # fmt: skip
#: each method's value computed by the database (std, which needs a square root, is not)
_IN_SQL = {
    "mean": models.Point.sum / models.Point.count, "min": models.Point.min,
    "max": models.Point.max, "sum": models.Point.sum, "last": models.Point.last,
    "count": models.Point.count * 1.0,
}  # fmt: skip


def series(session: Session, metric: models.Metric, query: MeasureQuery) -> list[Measure]:
    """The aggregated points of ``metric``: every granularity (coarsest first) or one.
    Read as plain rows (a week of minutes is 10,080 of them: no ORM objects)."""
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
    value = _IN_SQL.get(base)
    columns = (value,) if value is not None else _STATS
    stmt = select(models.Point.timestamp, models.Point.granularity, *columns).where(
        models.Point.metric_id == metric.id, models.Point.kind == kind
    )
    if query.granularity is not None:
        stmt = stmt.where(models.Point.granularity == query.granularity)
    if query.start is not None:
        stmt = stmt.where(models.Point.timestamp >= query.start)
    if query.stop is not None:
        stmt = stmt.where(models.Point.timestamp < query.stop)
    stmt = stmt.order_by(models.Point.granularity.desc(), models.Point.timestamp)
    rows = session.execute(stmt).all()
    if value is not None:
        return [Measure(timestamp, granularity, found) for timestamp, granularity, found in rows]
    found = []
    for timestamp, granularity, n, total, sumsq, low, high, last in rows:
        std = _value(base, n, total, sumsq, low, high, last)
        if std is not None:
            found.append(Measure(timestamp, granularity, std))
    return found


def get(deps: Deps, ctx: RequestContext, metric_id: str, query: MeasureQuery) -> list[Measure]:
    with deps.db.reader() as session:
        return series(session, _rows.authorized_metric(session, ctx, metric_id, rules.GET), query)


def get_of_resource(
    deps: Deps, ctx: RequestContext, rtype: str, resource_id: str, name: str, query: MeasureQuery
) -> list[Measure]:
    with deps.db.reader() as session:
        resource = _rows.resource(session, rtype, resource_id, resources.creator_of(ctx))
        return series(
            session, _rows.metric_of_resource(session, ctx, resource, name, rules.GET), query
        )


def batch_resources(
    deps: Deps,
    ctx: RequestContext,
    body: dict[str, dict[str, object]],
    create_metrics: bool,
) -> None:
    """``/v1/batch/resources/metrics/measures``: measures of named metrics of resources,
    in one transaction; with ``create_metrics`` missing metrics are created (their
    archive policy and unit given beside the measures, as Ceilometer sends them)."""

    def tx(session: Session) -> None:
        for resource_id, named in body.items():
            resource = _rows.resource(session, "generic", resource_id, resources.creator_of(ctx))
            for name, given in named.items():
                data = given.get("measures") if isinstance(given, dict) else given
                measures = parse_measures(data)
                try:
                    metric = _rows.metric_of_resource(session, ctx, resource, name, rules.POST)
                except NotFound:
                    if not create_metrics:
                        raise BadRequest(f"Unknown metrics: {resource_id}/{name}") from None
                    spec = given if isinstance(given, dict) else {}
                    wanted = metrics.MetricSpec(
                        _text(spec.get("archive_policy_name")), _text(spec.get("unit"))
                    )
                    metrics.attach(session, ctx, resource, {name: wanted})
                    metric = _rows.metric_of_resource(session, ctx, resource, name, rules.POST)
                ingest(session, metric, measures)

    deps.db.write(tx)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
