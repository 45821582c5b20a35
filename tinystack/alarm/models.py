"""Alarm tables: Aodh's ``alarm`` (the definition, its rule as JSON, and the state the
evaluator keeps), ``alarm_history`` (one row per change: creation, rule change,
state transition, deletion; kept after the alarm is deleted, as Aodh does) and
``quota`` (a project's limit of a resource set through ``/v2/quotas``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
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


class Alarm(Base):
    __tablename__ = "alarm"
    __table_args__ = (Index("ix_alarm_project_id", "project_id"),)

    alarm_id: Mapped[str] = mapped_column(UUID, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[str] = mapped_column(String(32))
    state_reason: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(32))
    #: the rule of ``type`` (``<type>_rule`` in the API)
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    ok_actions: Mapped[list[str]] = mapped_column(JSON)
    alarm_actions: Mapped[list[str]] = mapped_column(JSON)
    insufficient_data_actions: Mapped[list[str]] = mapped_column(JSON)
    repeat_actions: Mapped[bool] = mapped_column(Boolean, default=False)
    time_constraints: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    timestamp: Mapped[datetime] = mapped_column(DateTime)
    state_timestamp: Mapped[datetime] = mapped_column(DateTime)
    evaluate_timestamp: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class AlarmChange(Base):
    __tablename__ = "alarm_history"
    __table_args__ = (Index("ix_alarm_history_alarm_id", "alarm_id", "timestamp"),)

    event_id: Mapped[str] = mapped_column(UUID, primary_key=True)
    alarm_id: Mapped[str] = mapped_column(UUID)
    #: creation, rule change, state transition, deletion
    type: Mapped[str] = mapped_column(String(32))
    #: a JSON document of what changed (a string, as the API returns it)
    detail: Mapped[str] = mapped_column(Text)
    project_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    on_behalf_of: Mapped[str | None] = mapped_column(String(255), nullable=True)
    severity: Mapped[str | None] = mapped_column(String(32), nullable=True)
    timestamp: Mapped[datetime] = mapped_column(DateTime)


class Quota(Base):
    """A project's limit of one resource (``alarms``); no row: the ``[alarm]`` default."""

    __tablename__ = "quota"
    __table_args__ = (
        UniqueConstraint("project_id", "resource"),
        Index("ix_quota_project_id_resource", "project_id", "resource"),
    )

    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    resource: Mapped[str] = mapped_column(String(50))
    project_id: Mapped[str] = mapped_column(String(128))
    #: -1: no limit
    limit: Mapped[int] = mapped_column(Integer)
