"""Metric tables: Gnocchi's indexer (archive policies and their rules, resource types,
resources, metrics) and, instead of Gnocchi's carbonara files, the aggregated points
themselves: one row per metric, granularity and time bucket holding the count, sum,
sum of squares, min, max and last value of the measures that fell in it, from which
every aggregation method (mean, min, max, sum, count, std, last) is read; ``rate:*``
read the same statistics of the changes between successive measures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

UUID = String(36)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class ArchivePolicy(Base):
    __tablename__ = "archive_policy"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    back_window: Mapped[int] = mapped_column(Integer, default=0)
    #: [{"granularity": seconds, "points": n}, ...], finest first
    definition: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    aggregation_methods: Mapped[list[str]] = mapped_column(JSON)


class ArchivePolicyRule(Base):
    __tablename__ = "archive_policy_rule"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    archive_policy_name: Mapped[str] = mapped_column(
        String(255), ForeignKey("archive_policy.name", ondelete="RESTRICT")
    )
    metric_pattern: Mapped[str] = mapped_column(String(255))


class ResourceType(Base):
    __tablename__ = "resource_type"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    #: attribute name -> {"type": ..., "required": ..., ...}
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(32), default="active")


class Resource(Base):
    __tablename__ = "resource"
    __table_args__ = (Index("ix_resource_type_project", "type", "project_id"),)

    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    original_resource_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(
        String(255), ForeignKey("resource_type.name", ondelete="RESTRICT")
    )
    project_id: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    created_by_user_id: Mapped[str | None] = mapped_column(String(255))
    created_by_project_id: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    revision_start: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: the resource type's own attributes
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON)


class Metric(Base):
    __tablename__ = "metric"
    __table_args__ = (Index("ix_metric_resource_name", "resource_id", "name", unique=True),)

    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    resource_id: Mapped[str | None] = mapped_column(
        UUID, ForeignKey("resource.id", ondelete="CASCADE")
    )
    archive_policy_name: Mapped[str] = mapped_column(
        String(255), ForeignKey("archive_policy.name", ondelete="RESTRICT")
    )
    unit: Mapped[str | None] = mapped_column(String(31))
    created_by_user_id: Mapped[str | None] = mapped_column(String(255))
    created_by_project_id: Mapped[str | None] = mapped_column(String(255))
    #: the newest measure's time (epoch seconds) and value: the back window counts from
    #: it, and the next measure's change (for ``rate:*``) is taken from it
    newest: Mapped[float | None] = mapped_column(Float)
    newest_value: Mapped[float | None] = mapped_column(Float)


class Point(Base):
    """One time bucket of one granularity of a metric: of its measures (``kind`` 0), or
    of the changes between successive measures (``kind`` 1, read by ``rate:*``)."""

    __tablename__ = "point"

    metric_id: Mapped[str] = mapped_column(
        UUID, ForeignKey("metric.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[int] = mapped_column(Integer, primary_key=True)
    granularity: Mapped[float] = mapped_column(Float, primary_key=True)
    #: the bucket's start, epoch seconds
    timestamp: Mapped[float] = mapped_column(Float, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    sum: Mapped[float] = mapped_column(Float)
    sumsq: Mapped[float] = mapped_column(Float)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    last: Mapped[float] = mapped_column(Float)
    #: the time of the measure ``last`` is (ties: the later posted wins)
    last_at: Mapped[float] = mapped_column(Float)
