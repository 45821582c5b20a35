"""What the alarm services return: plain records, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tinystack.alarm import models

OK, ALARM, UNKNOWN = "ok", "alarm", "insufficient data"
STATES = (OK, ALARM, UNKNOWN)
SEVERITIES = ("low", "moderate", "critical")
REASON_DEFAULT = "Not evaluated yet"
REASON_MANUAL = "Manually set via API"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks: the request's user and project (recorded in history, owning new alarms)."""

    user_id: str | None
    project_id: str | None
    is_admin: bool = False


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
    time_constraints: list[dict[str, Any]]
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
            list(row.time_constraints), row.project_id, row.user_id, row.timestamp,
            row.state_timestamp, row.evaluate_timestamp,
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
