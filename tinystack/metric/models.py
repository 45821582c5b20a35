"""Metric tables: Gnocchi's indexer (archive policies and their rules, resource types,
resources, metrics) and, as Gnocchi's carbonara files hold them, the aggregated points:
split by time, each split one row packing its time buckets (the count, sum, sum of
squares, min, max and last value of the measures that fell in each), from which every
aggregation method (mean, min, max, sum, count, std, last) is read; ``rate:*`` read the
same statistics of the changes between successive measures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
)
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
    #: it, and the next measure's change (for ``rate:*``) is taken from it (Double: MySQL's
    #: FLOAT is single precision)
    newest: Mapped[float | None] = mapped_column(Double)
    newest_value: Mapped[float | None] = mapped_column(Double)


class Split(Base):
    """Up to ``splits.POINTS`` consecutive time buckets of one granularity of a metric's
    measures (``kind`` 0) or of the changes between successive measures (``kind`` 1,
    read by ``rate:*``), packed in one blob (``services/splits.py``): each bucket's
    start, count, sum, sum of squares, min, max, last value and the last one's time."""

    __tablename__ = "split"

    metric_id: Mapped[str] = mapped_column(
        UUID, ForeignKey("metric.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[int] = mapped_column(Integer, primary_key=True)
    granularity: Mapped[float] = mapped_column(Double, primary_key=True)
    #: the first bucket it can hold, epoch seconds (a multiple of its time span; Double,
    #: as MySQL's FLOAT is single precision)
    start: Mapped[float] = mapped_column(Double, primary_key=True)
    #: 2**24: MEDIUMBLOB on MySQL (a full split is 230,400 bytes; BLOB holds 64 KiB)
    points: Mapped[bytes] = mapped_column(LargeBinary(length=2**24))


class Backlog(Base):
    """Measures accepted by the API and not yet aggregated (Gnocchi's incoming storage):
    one row per metric per request, its measures packed as two arrays of little-endian
    doubles (the times, then the values; ``services/backlog.py``). The metric workers
    aggregate a metric's rows into its splits and delete them in one transaction."""

    __tablename__ = "backlog"
    __table_args__ = (Index("ix_backlog_metric_id", "metric_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    metric_id: Mapped[str] = mapped_column(UUID, ForeignKey("metric.id", ondelete="CASCADE"))
    #: how many measures ``measures`` packs
    count: Mapped[int] = mapped_column(Integer)
    #: 2**32 - 1: LONGBLOB on MySQL (a batch of a million measures is 16 MB)
    measures: Mapped[bytes] = mapped_column(LargeBinary(length=2**32 - 1))


class Processor(Base):
    """A running metric worker (Gnocchi's metricd member), as ``/v1/status`` lists it:
    its name and when it last said it was alive (epoch seconds)."""

    __tablename__ = "processor"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    heartbeat: Mapped[float] = mapped_column(Double)
