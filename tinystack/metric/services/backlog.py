"""The measure backlog (Gnocchi's incoming storage): measures accepted by the API and
not yet aggregated.

The API appends what it accepted (``append``: one ``models.Backlog`` row per metric per
request, in the request's transaction, so a 202 means the measures are committed and
survive a kill -9); ``measures.process`` aggregates and deletes them. ``pending`` and
``report`` say what waits (the metric workers, ``/v1/status``).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tinystack.metric import models
from tinystack.metric.services.deps import Deps


def pack(found: Sequence[tuple[float, float]]) -> bytes:
    packed = array("d", (t for t, _ in found))
    packed.extend(v for _, v in found)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def unpack(blob: bytes) -> list[tuple[float, float]]:
    packed = array("d")
    packed.frombytes(blob)
    if sys.byteorder == "big":
        packed.byteswap()
    n = len(packed) // 2
    return list(zip(packed[:n], packed[n:], strict=True))


def append(session: Session, metric_id: str, found: Sequence[tuple[float, float]]) -> None:
    """Queue ``found`` for ``metric_id`` in the caller's transaction."""
    if found:
        session.add(models.Backlog(metric_id=metric_id, count=len(found), measures=pack(found)))


def queued(session: Session, metric_id: str) -> list[tuple[int, int, bytes]]:
    """The metric's rows (id, count, packed measures), oldest first (the caller holds the
    metric's claim: only it deletes them; rows queued meanwhile wait for the next pass)."""
    query = (
        select(models.Backlog.id, models.Backlog.count, models.Backlog.measures)
        .where(models.Backlog.metric_id == metric_id)
        .order_by(models.Backlog.id)
    )
    return [(row_id, count, blob) for row_id, count, blob in session.execute(query)]


def pending(deps: Deps, limit: int = 1000) -> list[str]:
    """Metrics with queued measures, the longest waiting first."""
    oldest = func.min(models.Backlog.id)
    query = (
        select(models.Backlog.metric_id)
        .group_by(models.Backlog.metric_id)
        .order_by(oldest)
        .limit(limit)
    )
    with deps.db.reader() as session:
        return list(session.scalars(query))


def pending_of(session: Session, metric_ids: Iterable[str]) -> list[str]:
    """Which of ``metric_ids`` have queued measures."""
    wanted = list(metric_ids)
    if not wanted:
        return []
    query = select(models.Backlog.metric_id).where(models.Backlog.metric_id.in_(wanted))
    return sorted(set(session.scalars(query.distinct())))


def report(session: Session, details: bool) -> tuple[int, int, dict[str, int] | None]:
    """How many metrics have queued measures, how many measures are queued, and (with
    ``details``) how many per metric."""
    per_metric = select(models.Backlog.metric_id, func.sum(models.Backlog.count)).group_by(
        models.Backlog.metric_id
    )
    if details:
        found = {metric_id: int(n) for metric_id, n in session.execute(per_metric)}
        return len(found), sum(found.values()), found
    totals = select(
        func.count(func.distinct(models.Backlog.metric_id)), func.sum(models.Backlog.count)
    )
    metrics, measures = session.execute(totals).one()
    return int(metrics or 0), int(measures or 0), None
