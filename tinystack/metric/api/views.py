"""Records rendered as Gnocchi's JSON (durations as ``H:MM:SS`` strings, times as ISO
8601 with the UTC offset)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import Any

from tinystack.metric.services.records import (
    ArchivePolicyRecord,
    ArchivePolicyRuleRecord,
    Measure,
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


def stamp(ts: float) -> str:
    """ISO 8601 of an epoch time, as ``datetime.isoformat`` writes it (whole seconds by
    arithmetic on a cached date: a week of minutes is 10,080 of them)."""
    if ts != int(ts) or ts < 0:
        return datetime.fromtimestamp(ts, tz=UTC).isoformat()
    day, second = divmod(int(ts), 86400)
    hour, rest = divmod(second, 3600)
    return f"{_day(day)}{hour:02d}:{rest // 60:02d}:{rest % 60:02d}+00:00"


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
