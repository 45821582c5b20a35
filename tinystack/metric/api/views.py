"""Records rendered as Gnocchi's JSON (durations as ``H:MM:SS`` strings, times as ISO
8601 with the UTC offset)."""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import operator
from datetime import UTC, datetime, timedelta
from typing import Any

from tinystack.metric.services.records import (
    ArchivePolicyRecord,
    ArchivePolicyRuleRecord,
    Measure,
    MeasureSeries,
    MetricRecord,
    ResourceRecord,
    ResourceTypeRecord,
)


def duration(seconds: float) -> str:
    return str(timedelta(seconds=seconds))


def time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC).isoformat()


@functools.lru_cache(maxsize=4096)
def _day(day: int) -> str:
    return datetime.fromtimestamp(day * 86400, tz=UTC).strftime("%Y-%m-%dT")


_HOURS = tuple(f"{hour:02d}:" for hour in range(24))
_MINUTES_SECONDS = tuple(f"{m:02d}:{s:02d}+00:00" for m in range(60) for s in range(60))


def stamp(ts: float) -> str:
    """ISO 8601 of an epoch time, as ``datetime.isoformat`` writes it (whole seconds from
    a cached date and tables of the hours, minutes and seconds: a week of minutes is
    10,080 of them)."""
    if ts != int(ts) or ts < 0:
        return datetime.fromtimestamp(ts, tz=UTC).isoformat()
    day, second = divmod(int(ts), 86400)
    hour, rest = divmod(second, 3600)
    return _day(day) + _HOURS[hour] + _MINUTES_SECONDS[rest]


def _number(value: float) -> str:
    """A float as ``json.dumps`` writes it."""
    return float.__repr__(value) if value - value == 0 else json.dumps(value)


def archive_policy(record: ArchivePolicyRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "back_window": record.back_window,
        "definition": [
            {
                "granularity": duration(d.granularity),
                "points": d.points,
                "timespan": duration(d.timespan),
            }
            for d in record.definition
        ],
        "aggregation_methods": sorted(record.aggregation_methods),
    }


def archive_policy_rule(record: ArchivePolicyRuleRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "archive_policy_name": record.archive_policy_name,
        "metric_pattern": record.metric_pattern,
    }


def resource_type(record: ResourceTypeRecord) -> dict[str, Any]:
    return {"name": record.name, "state": record.state, "attributes": record.attributes}


def resource(record: ResourceRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "type": record.type,
        "original_resource_id": record.original_resource_id,
        "project_id": record.project_id,
        "user_id": record.user_id,
        "creator": f"{record.created_by_user_id}:{record.created_by_project_id}",
        "created_by_user_id": record.created_by_user_id,
        "created_by_project_id": record.created_by_project_id,
        "started_at": time(record.started_at),
        "revision_start": time(record.revision_start),
        "ended_at": time(record.ended_at),
        "revision_end": None,
        "metrics": record.metrics,
        **record.attributes,
    }


def metric(record: MetricRecord, *, detailed: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": record.id,
        "name": record.name,
        "unit": record.unit,
        "resource_id": record.resource_id,
        "creator": f"{record.created_by_user_id}:{record.created_by_project_id}",
        "created_by_user_id": record.created_by_user_id,
        "created_by_project_id": record.created_by_project_id,
        "archive_policy_name": record.archive_policy.name,
    }
    if detailed:
        view["archive_policy"] = archive_policy(record.archive_policy)
        view["resource"] = resource(record.resource) if record.resource is not None else None
    return view


def measures(points: list[Measure] | tuple[Measure, ...]) -> list[list[Any]]:
    return [[stamp(p.timestamp), p.granularity, p.value] for p in points]


def measures_json(found: list[MeasureSeries]) -> str:
    """``[[time, granularity, value], ...]`` serialized as ``json.dumps`` would, straight
    from the columns with no Python object per point but its two strings (a week of
    minutes is 10,080 points): each point's head (``], ["<time>", <granularity>, ``)
    and its value (the floats written by ``json.dumps`` in one call), interleaved."""
    heads: list[str] = []
    values: list[str] = []
    for series in found:
        if series.timestamps:
            heads.extend(_heads(series))
            values.extend(json.dumps(series.values.tolist())[1:-1].split(", "))
    if not heads:
        return "[]"
    pieces = [""] * (2 * len(heads))
    pieces[0::2], pieces[1::2] = heads, values
    pieces[0] = "[" + heads[0].removeprefix("], ")
    return "".join(pieces) + "]]"


_OPEN = '], ["'


@functools.lru_cache(maxsize=64)
def _times_of_day(granularity: int, tail: str) -> tuple[str, ...]:
    """Every bucket's time of day at ``granularity``, each followed by ``tail``."""
    return tuple(f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}+00:00{tail}"
                 for s in range(0, 86400, granularity))  # fmt: skip


def _heads(series: MeasureSeries) -> list[str]:
    stamps, gran = series.timestamps, series.granularity
    tail = f'", {_number(gran)}, '
    if not gran.is_integer() or 86400 % int(gran) or stamps[0] < 0:
        return [_OPEN + stamp(ts) + tail for ts in stamps]
    step = int(gran)  # whole seconds: each day's buckets from a table of the day's times
    table = _times_of_day(step, tail)
    heads: list[str] = []
    i = 0
    while i < len(stamps):
        day = int(stamps[i]) // 86400
        end = bisect.bisect_left(stamps, (day + 1) * 86400, i)
        prefix = _OPEN + _day(day)
        first = int(stamps[i]) % 86400 // step
        if (int(stamps[end - 1]) - int(stamps[i])) // step == end - 1 - i:  # no gap
            times = table[first : first + end - i]
            heads.extend(map(operator.add, itertools.repeat(prefix), times))
        else:
            heads.extend(prefix + table[int(ts) % 86400 // step] for ts in stamps[i:end])
        i = end
    return heads
