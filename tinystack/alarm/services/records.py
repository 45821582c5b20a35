"""What the alarm services return: plain records, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict, cast

from tinystack.alarm import models

OK, ALARM, UNKNOWN = "ok", "alarm", "insufficient data"
STATES = (OK, ALARM, UNKNOWN)
SEVERITIES = ("low", "moderate", "critical")
REASON_DEFAULT = "Not evaluated yet"
REASON_MANUAL = "Manually set via API"


class TimeConstraint(TypedDict):
    """One window an alarm is evaluated in (Aodh's ``AlarmTimeConstraint``)."""

    name: str
    description: str
    start: str  # a cron expression
    duration: int  # seconds
    timezone: str  # IANA name; "" is UTC


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks: the request's user and project (recorded in history, owning new alarms)."""

    user_id: str | None
    project_id: str | None
    is_admin: bool = False
    #: the request's token and role names (a ``trust+http`` action's trust is created
    #: with them)
    token: str | None = field(default=None, repr=False)
    roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AlarmRecord:
    alarm_id: str
    name: str
    description: str
    type: str
    enabled: bool
    state: str
    state_reason: str
    severity: str
    rule: dict[str, Any]
    ok_actions: list[str]
    alarm_actions: list[str]
    insufficient_data_actions: list[str]
    repeat_actions: bool
    time_constraints: list[TimeConstraint]
    project_id: str
    user_id: str
    timestamp: datetime
    state_timestamp: datetime
    evaluate_timestamp: datetime | None

    @classmethod
    def of(cls, row: models.Alarm) -> AlarmRecord:
        return cls(
            row.alarm_id, row.name, row.description, row.type, row.enabled, row.state,
            row.state_reason, row.severity, dict(row.rule), list(row.ok_actions),
            list(row.alarm_actions), list(row.insufficient_data_actions), row.repeat_actions,
            cast(list[TimeConstraint], list(row.time_constraints)), row.project_id,
            row.user_id, row.timestamp, row.state_timestamp, row.evaluate_timestamp,
        )  # fmt: skip

    def actions_for(self, state: str) -> list[str]:
        if state == OK:
            return self.ok_actions
        if state == ALARM:
            return self.alarm_actions
        return self.insufficient_data_actions


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    event_id: str
    alarm_id: str
    type: str
    detail: str
    project_id: str | None
    user_id: str | None
    on_behalf_of: str | None
    severity: str | None
    timestamp: datetime

    @classmethod
    def of(cls, row: models.AlarmChange) -> ChangeRecord:
        return cls(
            row.event_id, row.alarm_id, row.type, row.detail, row.project_id, row.user_id,
            row.on_behalf_of, row.severity, row.timestamp,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Limit:
    """One resource's limit (-1: none)."""

    resource: str
    limit: int


@dataclass(frozen=True, slots=True)
class ProjectQuotas:
    """A project's quotas: as stored, as set, or the ``[alarm]`` default."""

    project_id: str
    quotas: tuple[Limit, ...]
