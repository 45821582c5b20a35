"""Frozen records the metric service layer returns."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tinystack.common.rpc.payload import JSON


@dataclass(frozen=True, slots=True)
class ArchiveItem:
    """One granularity of an archive policy: ``points`` buckets of ``granularity`` s."""

    granularity: float
    points: int

    @property
    def timespan(self) -> float:
        return self.granularity * self.points


@dataclass(frozen=True, slots=True)
class ArchivePolicyRecord:
    name: str
    back_window: int
    definition: tuple[ArchiveItem, ...]
    aggregation_methods: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ArchivePolicyRuleRecord:
    name: str
    archive_policy_name: str
    metric_pattern: str


@dataclass(frozen=True, slots=True)
class ResourceTypeRecord:
    name: str
    attributes: dict[str, dict[str, JSON]]
    state: str


@dataclass(frozen=True, slots=True)
class ResourceRecord:
    id: str
    original_resource_id: str
    type: str
    project_id: str | None
    user_id: str | None
    created_by_user_id: str | None
    created_by_project_id: str | None
    started_at: datetime
    revision_start: datetime
    ended_at: datetime | None
    attributes: dict[str, Any]
    #: metric name -> metric id
    metrics: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MetricRecord:
    id: str
    name: str | None
    unit: str | None
    resource_id: str | None
    created_by_user_id: str | None
    created_by_project_id: str | None
    archive_policy: ArchivePolicyRecord
    resource: ResourceRecord | None = None


@dataclass(frozen=True, slots=True)
class Measure:
    """One aggregated point: the bucket's start (epoch seconds), its granularity, value."""

    timestamp: float
    granularity: float
    value: float


@dataclass(frozen=True, slots=True)
class MeasureSeries:
    """The aggregated points of one granularity as two columns (a week of minutes is
    10,080 points: two arrays, not 10,080 objects)."""

    granularity: float
    timestamps: array[float]
    values: array[float]

    def measures(self) -> list[Measure]:
        gran = self.granularity
        return [Measure(t, gran, v) for t, v in zip(self.timestamps, self.values, strict=True)]


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """``/v1/status``: the backlog and the metric workers seen alive."""

    metrics: int
    measures: int
    #: queued measures per metric id (with ``details``)
    measures_to_process: dict[str, int] | None
    processors: tuple[str, ...]
