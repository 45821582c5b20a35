"""Request bodies of the metric API (Gnocchi's voluptuous schemas as pydantic models)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ArchivePolicyItem(Strict):
    granularity: str | float | None = None
    points: int | str | None = None
    timespan: str | float | None = None


class ArchivePolicyCreate(Strict):
    name: str = Field(min_length=1, max_length=255)
    back_window: int = Field(default=0, ge=0)
    definition: list[ArchivePolicyItem] = Field(min_length=1)
    aggregation_methods: list[str] | None = None


class ArchivePolicyUpdate(Strict):
    definition: list[ArchivePolicyItem] = Field(min_length=1)


class ArchivePolicyRuleCreate(Strict):
    name: str = Field(min_length=1, max_length=255)
    archive_policy_name: str
    metric_pattern: str


class ArchivePolicyRuleUpdate(Strict):
    name: str = Field(min_length=1, max_length=255)


class ResourceTypeCreate(Strict):
    name: str = Field(min_length=1, max_length=255, pattern=r"^[a-zA-Z0-9_:-]+$")
    attributes: dict[str, dict[str, Any]] = Field(default_factory=dict)


class MetricCreate(Strict):
    archive_policy_name: str | None = None
    name: str | None = Field(default=None, max_length=255)
    unit: str | None = None
    resource_id: str | None = None


class ResourceBody(BaseModel):
    """A resource's create or update body: the common fields, ``metrics`` (name → metric
    id, or ``{"archive_policy_name", "unit"}``) and the type's attributes (extra keys)."""

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    project_id: str | None = None
    user_id: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    metrics: dict[str, str | dict[str, Any]] | None = None


class Aggregates(Strict):
    operations: str | list[Any]
    search: Any = None
    resource_type: str | None = None
