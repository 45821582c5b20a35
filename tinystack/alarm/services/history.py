"""Alarm history: one row per change, written in the transaction of the change, and read
back newest first (kept after the alarm is deleted, as Aodh keeps it)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.alarm import models
from tinystack.alarm.services.deps import Deps
from tinystack.alarm.services.records import AlarmRecord, Caller, ChangeRecord
from tinystack.common.exceptions import BadRequest

CREATION, RULE_CHANGE = "creation", "rule change"
STATE_TRANSITION, DELETION = "state transition", "deletion"


def record(
    deps: Deps,
    session: Session,
    alarm: AlarmRecord,
    kind: str,
    detail: Mapping[str, object],
    caller: Caller | None,
    when: datetime,
) -> None:
    """Add a change of ``alarm`` to ``session`` (nothing if history is off or empty)."""
    if not deps.opts.record_history or not detail:
        return
    session.add(
        models.AlarmChange(
            event_id=str(uuid.uuid4()),
            alarm_id=alarm.alarm_id,
            type=kind,
            detail=json.dumps(detail, default=str),
            user_id=caller.user_id if caller else None,
            project_id=caller.project_id if caller else None,
            on_behalf_of=alarm.project_id,
            severity=str(detail.get("severity", alarm.severity)),
            timestamp=when,
        )
    )


def list_changes(deps: Deps, alarm_id: str, project_id: str | None) -> list[ChangeRecord]:
    """Changes of ``alarm_id`` made on behalf of ``project_id`` (None: any), newest first
    (:func:`page` takes a page of them)."""
    with deps.db.reader() as session:
        query = select(models.AlarmChange).where(models.AlarmChange.alarm_id == alarm_id)
        if project_id is not None:
            query = query.where(models.AlarmChange.on_behalf_of == project_id)
        rows = session.scalars(
            query.order_by(models.AlarmChange.timestamp.desc(), models.AlarmChange.event_id)
        ).all()
    return [ChangeRecord.of(r) for r in rows]


def page(changes: list[ChangeRecord], limit: int | None, marker: str | None) -> list[ChangeRecord]:
    """``limit`` changes after the one whose ``event_id`` is ``marker``."""
    if limit is not None and limit <= 0:
        raise BadRequest("Limit must be positive")
    if marker is not None:
        ids = [c.event_id for c in changes]
        if marker not in ids:
            raise BadRequest(f"Invalid marker: {marker}")
        changes = changes[ids.index(marker) + 1 :]
    return changes[:limit] if limit is not None else changes


def all_changes(deps: Deps, project_id: str | None) -> list[ChangeRecord]:
    """Every change made on behalf of ``project_id`` (None: any), newest first."""
    with deps.db.reader() as session:
        query = select(models.AlarmChange)
        if project_id is not None:
            query = query.where(models.AlarmChange.on_behalf_of == project_id)
        rows = session.scalars(query.order_by(models.AlarmChange.timestamp.desc())).all()
    return [ChangeRecord.of(r) for r in rows]
