"""The aggregated points of a metric, stored as Gnocchi's carbonara stores them: split
by time, each split one row holding its buckets packed in one blob.

A split is up to :data:`POINTS` consecutive buckets of one granularity of one series
(``kind``: the measures, or their changes for ``rate:*``), starting at a multiple of
``POINTS * granularity``. Its blob is eight arrays of doubles one after the other
(little-endian): the buckets' start times, then their count, sum, sum of squares, min,
max, last value and the time of that last measure. Reading a week of minutes is three
or four rows instead of 10,080; a batch of measures rewrites only the splits it falls in.
"""

from __future__ import annotations

import bisect
import math
import sys
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from tinystack.metric import models

#: buckets per split (Gnocchi's carbonara uses 3600 too)
POINTS = 3600
#: the columns of a split, in blob order
TIMESTAMP, COUNT, SUM, SUMSQ, MIN, MAX, LAST, LAST_AT = range(8)
WIDTH = 8

#: (kind, granularity, bucket start) -> [count, sum, sumsq, min, max, last, last_at]
Buckets = dict[tuple[int, float, float], list[float]]


@dataclass(slots=True)
class Columns:
    """The buckets of one series at one granularity, oldest first, one array a column."""

    granularity: float
    #: the columns asked for, by index (``TIMESTAMP`` always)
    columns: dict[int, array[float]]


def span(granularity: float) -> float:
    return POINTS * granularity


def start_of(timestamp: float, granularity: float) -> float:
    """The start of the split the bucket at ``timestamp`` belongs to."""
    return math.floor(timestamp / span(granularity)) * span(granularity)


def decode(blob: bytes) -> list[array[float]]:
    return [_column(blob, field) for field in range(WIDTH)]


def _column(blob: bytes, field: int, first: int = 0, end: int | None = None) -> array[float]:
    """Buckets [``first``, ``end``) of one column of a split's blob."""
    n = len(blob) // (8 * WIDTH)
    stop = n if end is None else end
    column = array("d")
    column.frombytes(memoryview(blob)[(field * n + first) * 8 : (field * n + stop) * 8])
    if sys.byteorder == "big":
        column.byteswap()
    return column


def encode(columns: list[array[float]]) -> bytes:
    packed = array("d")
    for column in columns:
        packed.extend(column)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def _merged(
    columns: list[array[float]], found: list[tuple[float, list[float]]], cutoff: float | None
) -> list[array[float]]:
    """``columns`` with ``found``'s buckets added (merged into a bucket already there),
    sorted by time, without the buckets at or before ``cutoff``."""
    stamps = [ts for ts, _ in found]
    newest = columns[TIMESTAMP][-1] if columns and columns[TIMESTAMP] else None
    if newest is not None and stamps == sorted(stamps) and stamps[0] > newest:
        # the usual case: buckets newer than the split holds, appended as they are
        grown = [array("d", column) for column in columns]
        for ts, stats in found:
            grown[TIMESTAMP].append(ts)
            for column, value in zip(grown[COUNT:], stats, strict=True):
                column.append(value)
        if cutoff is None or grown[TIMESTAMP][0] > cutoff:
            return grown
        columns, found = grown, []
    rows = [list(r) for r in zip(*columns, strict=True)] if columns else []
    index = {row[TIMESTAMP]: row for row in rows}
    unordered = False
    for ts, (count, total, squares, low, high, last, last_at) in found:
        row = index.get(ts)
        if row is None:
            row = [ts, count, total, squares, low, high, last, last_at]
            index[ts] = row
            rows.append(row)
            unordered = True
            continue
        row[COUNT] += count
        row[SUM] += total
        row[SUMSQ] += squares
        row[MIN], row[MAX] = min(row[MIN], low), max(row[MAX], high)
        if last_at >= row[LAST_AT]:
            row[LAST], row[LAST_AT] = last, last_at
    if unordered:
        rows.sort(key=lambda r: r[TIMESTAMP])
    if cutoff is not None:
        rows = [r for r in rows if r[TIMESTAMP] > cutoff]
    return [array("d", column) for column in zip(*rows, strict=True)] if rows else []


def merge(session: Session, metric_id: str, buckets: Buckets, cutoffs: dict[float, float]) -> None:
    """Add ``buckets`` to the metric's splits (read and rewritten once each); buckets at
    or before their granularity's cutoff (``cutoffs``) are dropped on the way."""
    if not buckets:
        return
    grouped: dict[tuple[int, float, float], list[tuple[float, list[float]]]] = {}
    for (kind, gran, ts), stats in buckets.items():
        grouped.setdefault((kind, gran, start_of(ts, gran)), []).append((ts, stats))
    wanted: dict[tuple[int, float], set[float]] = {}
    for kind, gran, start in grouped:
        wanted.setdefault((kind, gran), set()).add(start)
    stored = {
        (row.kind, row.granularity, row.start): row
        for row in session.scalars(
            select(models.Split).where(
                models.Split.metric_id == metric_id,
                or_(*(and_(models.Split.kind == kind, models.Split.granularity == gran,
                           models.Split.start.in_(sorted(starts)))
                      for (kind, gran), starts in wanted.items())),
            )
        )
    }  # fmt: skip
    for key, found in grouped.items():
        kind, gran, start = key
        row = stored.get(key)
        columns = _merged(decode(row.points) if row else [], found, cutoffs.get(gran))
        if row is None and columns:
            session.add(models.Split(metric_id=metric_id, kind=kind, granularity=gran,
                                     start=start, points=encode(columns)))  # fmt: skip
        elif row is not None and columns:
            row.points = encode(columns)
        elif row is not None:
            session.delete(row)


def trim(
    session: Session, metric_id: str, cutoffs: dict[float, float], before: dict[float, float]
) -> None:
    """Delete the splits whose every bucket is at or before its granularity's cutoff
    (a split holding the cutoff keeps its older buckets until rewritten; reads skip
    them). Only where the cutoff crossed into another split since ``before`` (the
    cutoffs of the previous ingestion): otherwise no split expired meanwhile."""
    for gran, cutoff in cutoffs.items():
        if gran in before and _expired(before[gran], gran) == _expired(cutoff, gran):
            continue
        session.execute(
            delete(models.Split).where(
                models.Split.metric_id == metric_id,
                models.Split.granularity == gran,
                models.Split.start <= cutoff - span(gran) + gran,
            )
        )


def _expired(cutoff: float, gran: float) -> int:
    """How many split spans lie wholly at or before ``cutoff`` (since the epoch)."""
    return math.floor((cutoff + gran) / span(gran))


def read(
    session: Session,
    metric_id: str,
    kind: int,
    granularities: Iterable[float],
    fields: Iterable[int],
    window: tuple[float | None, float | None] = (None, None),
    cutoffs: dict[float, float] | None = None,
) -> Iterator[Columns]:
    """The ``fields`` of the buckets of each of ``granularities`` (in the order given)
    with a time in the ``window`` [start, stop) and after the granularity's cutoff."""
    start, stop = window
    wanted = sorted({TIMESTAMP, *fields})
    for gran in granularities:
        stmt = select(models.Split.points).where(
            models.Split.metric_id == metric_id,
            models.Split.kind == kind,
            models.Split.granularity == gran,
        )
        if start is not None:
            stmt = stmt.where(models.Split.start > start - span(gran))
        if stop is not None:
            stmt = stmt.where(models.Split.start < stop)
        lower = max(start if start is not None else -math.inf,
                    math.nextafter((cutoffs or {}).get(gran, -math.inf), math.inf))  # fmt: skip
        joined = {field: array("d") for field in wanted}
        for blob in session.scalars(stmt.order_by(models.Split.start)):
            stamps = _column(blob, TIMESTAMP)
            first = bisect.bisect_left(stamps, lower)
            end = len(stamps) if stop is None else bisect.bisect_left(stamps, stop)
            if first < end:
                for field, column in joined.items():
                    column.extend(_column(blob, field, first, end))
        yield Columns(gran, joined)
