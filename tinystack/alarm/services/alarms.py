"""Alarms: create, read, replace, delete, their state, and the evaluator's transitions —
each change recorded in history in the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update

from tinystack.alarm import models
from tinystack.alarm.services import constraints, history, quotas, rules, trusts
from tinystack.alarm.services.deps import Deps
from tinystack.alarm.services.records import (
    REASON_DEFAULT,
    REASON_MANUAL,
    SEVERITIES,
    STATES,
    UNKNOWN,
    AlarmRecord,
    Caller,
)
from tinystack.common.exceptions import BadRequest, NotFound, Unauthorized
from tinystack.common.timeutils import utcnow

#: the action schemes a notifier exists for
SCHEMES = ("log", "http", "https", "trust+http", "trust+https")
ACTION_KEYS = ("ok_actions", "alarm_actions", "insufficient_data_actions")
#: the fields a list may filter on (Aodh's; ``eq`` only)
FILTERS = ("all_projects", "user_id", "project_id", "type", "name", "enabled", "state",
           "severity", "timestamp", "repeat_actions")  # fmt: skip
_SORTABLE = ("name", "type", "state", "severity", "timestamp", "state_timestamp",
             "enabled", "alarm_id", "project_id", "user_id")  # fmt: skip


def as_dict(alarm: AlarmRecord) -> dict[str, object]:
    """The alarm as the API shows it (and history records it)."""
    return {
        "alarm_id": alarm.alarm_id,
        "name": alarm.name,
        "description": alarm.description,
        "type": alarm.type,
        f"{alarm.type}_rule": alarm.rule,
        "enabled": alarm.enabled,
        "state": alarm.state,
        "state_reason": alarm.state_reason,
        "severity": alarm.severity,
        "ok_actions": [trusts.scrubbed(a) for a in alarm.ok_actions],
        "alarm_actions": [trusts.scrubbed(a) for a in alarm.alarm_actions],
        "insufficient_data_actions": [trusts.scrubbed(a) for a in alarm.insufficient_data_actions],
        "repeat_actions": alarm.repeat_actions,
        "time_constraints": alarm.time_constraints,
        "project_id": alarm.project_id,
        "user_id": alarm.user_id,
        "timestamp": alarm.timestamp.isoformat(),
        "state_timestamp": alarm.state_timestamp.isoformat(),
        "evaluate_timestamp": alarm.evaluate_timestamp.isoformat()
        if alarm.evaluate_timestamp
        else None,
    }


def _actions(deps: Deps, body: Mapping[str, Any], key: str) -> list[str]:
    value = body.get(key) or []
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise rules.invalid(key, value, "Wrong type. Expected '[str]'")
    unique = list(dict.fromkeys(value))
    for action in unique:
        if urlsplit(action).scheme not in SCHEMES:
            raise BadRequest(f"Unsupported action {action}")
    limit = deps.opts.alarm_max_actions
    if 0 < limit < len(unique):
        raise BadRequest(f"{key} count exceeds maximum value {limit}")
    return unique


def _flag(body: Mapping[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise rules.invalid(key, value, "Wrong type. Expected 'bool'")
    return value


def _definition(deps: Deps, body: Mapping[str, Any]) -> dict[str, Any]:
    """The columns a create or a replace sets from ``body``; 400 if it is bad."""
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise rules.invalid("name", name, "Mandatory field missing.")
    kind = body.get("type")
    if kind not in rules.TYPES:
        raise rules.invalid("type", kind, f"Value should be one of: {', '.join(rules.TYPES)}")
    others = [f"{t}_rule" for t in rules.TYPES if t != kind and body.get(f"{t}_rule")]
    if others:
        raise BadRequest(f"{kind}_rule and {others[0]} cannot be set at the same time")
    if body.get(f"{kind}_rule") in (None, {}):
        raise BadRequest(f"{kind}_rule must be set for {kind} type alarm")
    rule = rules.check(str(kind), body[f"{kind}_rule"])
    severity = body.get("severity") or "low"
    if severity not in SEVERITIES:
        raise rules.invalid("severity", severity, f"Value should be one of: {SEVERITIES}")
    default_description = (
        f"Alarm when {rule['event_type']} event occurred." if kind == rules.EVENT
        else f"{kind} alarm rule"
    )  # fmt: skip
    return {
        "name": name,
        "description": body.get("description") or default_description,
        "type": kind,
        "rule": rule,
        "enabled": _flag(body, "enabled", True),
        "severity": severity,
        "repeat_actions": _flag(body, "repeat_actions", False),
        "time_constraints": constraints.check(body.get("time_constraints")),
        **{key: _actions(deps, body, key) for key in ACTION_KEYS},
    }


def _state(body: Mapping[str, Any], default: str) -> str:
    state = body.get("state") or default
    if state not in STATES:
        raise rules.invalid("state", state, f"Value should be one of: {', '.join(STATES)}")
    return str(state)


def _owner(body: Mapping[str, Any], caller: Caller, key: str, mine: str | None) -> str:
    wanted = body.get(key) or mine
    if wanted != mine and not caller.is_admin:
        aspect = "project" if key == "project_id" else "user"
        raise Unauthorized(f"Not Authorized to access {aspect} {wanted}")
    return str(wanted or "")


def create(deps: Deps, caller: Caller, body: Mapping[str, object]) -> AlarmRecord:
    columns = _definition(deps, body)
    project_id = _owner(body, caller, "project_id", caller.project_id)
    user_id = _owner(body, caller, "user_id", caller.user_id)
    if not caller.is_admin:
        columns["rule"] = rules.scoped(columns["type"], columns["rule"], project_id)
    state = _state(body, UNKNOWN)
    created, _ = trusts.delegate(deps, caller, _action_lists(columns))
    now = utcnow()
    row = models.Alarm(
        alarm_id=str(uuid.uuid4()), state=state, state_reason=REASON_DEFAULT,
        project_id=project_id, user_id=user_id, timestamp=now, state_timestamp=now,
        evaluate_timestamp=None, **columns,
    )  # fmt: skip
    try:
        with deps.db.writer() as session:
            quotas.enforce(session, deps.opts, project_id, user_id)
            session.add(row)
            session.flush()
            made = AlarmRecord.of(row)
            detail = {k: v for k, v in as_dict(made).items() if k != "evaluate_timestamp"}
            history.record(deps, session, made, history.CREATION, detail, caller, now)
    except BaseException:
        trusts.release(deps, caller, created)
        raise
    return made


def _action_lists(columns: dict[str, Any]) -> dict[str, list[str]]:
    """The definition's action lists (``trusts.delegate`` fills in their trusts)."""
    return {key: columns[key] for key in ACTION_KEYS}


def get(deps: Deps, alarm_id: str, project_id: str | None) -> AlarmRecord:
    """The alarm; ``project_id``: only if it is that project's (None: any project)."""
    with deps.db.reader() as session:
        row = session.get(models.Alarm, alarm_id)
        if row is None or (project_id is not None and row.project_id != project_id):
            raise NotFound(f"Alarm {alarm_id} not found")
        return AlarmRecord.of(row)


def list_alarms(
    deps: Deps,
    filters: Mapping[str, str],
    limit: int | None = None,
    marker: str | None = None,
    sort: list[tuple[str, str]] | None = None,
) -> list[AlarmRecord]:
    query = select(models.Alarm)
    for key, value in filters.items():
        column = getattr(models.Alarm, key)
        if key in ("enabled", "repeat_actions"):
            query = query.where(column == (value.lower() == "true"))
        else:
            query = query.where(column == value)
    order = []
    for key, direction in sort or [("timestamp", "desc")]:
        if key not in _SORTABLE or direction not in ("asc", "desc"):
            raise BadRequest(f"Invalid sort key or direction: {key}:{direction}")
        column = getattr(models.Alarm, key)
        order.append(column.desc() if direction == "desc" else column.asc())
    with deps.db.reader() as session:
        rows = session.scalars(query.order_by(*order, models.Alarm.alarm_id)).all()
        found = [AlarmRecord.of(r) for r in rows]
    if marker is not None:
        ids = [a.alarm_id for a in found]
        if marker not in ids:
            raise BadRequest(f"Invalid marker: {marker}")
        found = found[ids.index(marker) + 1 :]
    if limit is not None and limit <= 0:
        raise BadRequest("Limit must be positive")
    return found[:limit] if limit is not None else found


def replace(deps: Deps, caller: Caller, alarm_id: str, body: Mapping[str, object]) -> AlarmRecord:
    """PUT: the whole definition replaced (the state too, if given: else the alarm keeps
    the state it has when its row is locked, not the one read before, which a transition
    of the evaluator in between would make stale and the PUT would then undo)."""
    old = get(deps, alarm_id, None)
    columns = _definition(deps, body)
    project_id = _owner(body, caller, "project_id", old.project_id)
    user_id = _owner(body, caller, "user_id", old.user_id)
    if not caller.is_admin:
        columns["rule"] = rules.scoped(columns["type"], columns["rule"], project_id)
    state = _state(body, old.state) if body.get("state") else None
    previous = [*old.ok_actions, *old.alarm_actions, *old.insufficient_data_actions]
    created, unused = trusts.delegate(deps, caller, _action_lists(columns), previous)
    try:
        new = _replace_row(deps, caller, old, columns, (project_id, user_id, state))
    except BaseException:
        trusts.release(deps, caller, created)
        raise
    trusts.release(deps, caller, unused)
    return new


def _replace_row(
    deps: Deps,
    caller: Caller,
    old: AlarmRecord,
    columns: dict[str, Any],
    owners_and_state: tuple[str, str, str | None],
) -> AlarmRecord:
    project_id, user_id, state = owners_and_state
    alarm_id = old.alarm_id
    now = utcnow()
    with deps.db.writer() as session:
        row = session.get(models.Alarm, alarm_id, with_for_update=True)
        if row is None:
            raise NotFound(f"Alarm {alarm_id} not found")
        for key, value in columns.items():
            setattr(row, key, value)
        row.project_id, row.user_id, row.timestamp = project_id, user_id, now
        if state is not None and state != row.state:
            row.state, row.state_timestamp, row.state_reason = state, now, REASON_MANUAL
        session.flush()
        new = AlarmRecord.of(row)
        before, after = as_dict(old), as_dict(new)
        changed = {k: v for k, v in after.items() if before.get(k) != v
                   and k not in ("timestamp", "state_timestamp", "evaluate_timestamp")}  # fmt: skip
        history.record(deps, session, new, history.RULE_CHANGE, changed, caller, now)
    return new


def delete(deps: Deps, caller: Caller, alarm: AlarmRecord) -> None:
    now = utcnow()
    with deps.db.writer() as session:
        row = session.get(models.Alarm, alarm.alarm_id, with_for_update=True)
        if row is None:
            raise NotFound(f"Alarm {alarm.alarm_id} not found")
        session.delete(row)
        detail = {"state": alarm.state}
        history.record(deps, session, alarm, history.DELETION, detail, caller, now)
    actions = [*alarm.ok_actions, *alarm.alarm_actions, *alarm.insufficient_data_actions]
    trusts.release(deps, caller, set(trusts.owned_ids(actions)))


def set_state(deps: Deps, caller: Caller, alarm: AlarmRecord, state: object) -> str:
    if state not in STATES:
        raise BadRequest("state invalid")
    now = utcnow()
    with deps.db.writer() as session:
        row = session.get(models.Alarm, alarm.alarm_id, with_for_update=True)
        if row is None:
            raise NotFound(f"Alarm {alarm.alarm_id} not found")
        row.state, row.state_timestamp, row.state_reason = str(state), now, REASON_MANUAL
        detail = {"state": state, "state_reason": REASON_MANUAL}
        history.record(deps, session, alarm, history.STATE_TRANSITION, detail, caller, now)
    return str(state)


def transition(deps: Deps, alarm: AlarmRecord, state: str, reason: str, when: datetime) -> bool:
    """The evaluator's change of ``alarm`` to ``state`` (or its refresh, for repeated
    actions): written only if the alarm is still in the state the evaluator read, so a
    concurrent change (API, another evaluation) wins and nothing is notified twice."""
    with deps.db.writer() as session:
        done = session.execute(
            update(models.Alarm)
            .where(models.Alarm.alarm_id == alarm.alarm_id, models.Alarm.state == alarm.state,
                   models.Alarm.state_timestamp == alarm.state_timestamp)
            .values(state=state, state_reason=reason, state_timestamp=when,
                    evaluate_timestamp=when)
        )  # fmt: skip
        if not getattr(done, "rowcount", 0):
            return False
        if state != alarm.state:
            detail = {"state": state, "transition_reason": reason}
            history.record(deps, session, alarm, history.STATE_TRANSITION, detail, None, when)
    return True


def mark_evaluated(deps: Deps, alarm_id: str, when: datetime) -> None:
    with deps.db.writer() as session:
        session.execute(
            update(models.Alarm)
            .where(models.Alarm.alarm_id == alarm_id)
            .values(evaluate_timestamp=when)
        )


def enabled_alarms(deps: Deps, types: tuple[str, ...]) -> list[AlarmRecord]:
    with deps.db.reader() as session:
        rows = session.scalars(
            select(models.Alarm).where(models.Alarm.enabled.is_(True), models.Alarm.type.in_(types))
        ).all()
        return [AlarmRecord.of(r) for r in rows]
