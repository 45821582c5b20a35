"""Quotas (Aodh's ``/v2/quotas``): a project's stored limit of a resource, the
``[alarm]`` default where it has none, and the check of a new alarm against them.

A project's alarms are limited by its stored ``alarms`` quota, or without one by
``[alarm] project_alarm_quota``; ``[alarm] user_alarm_quota`` limits a user's alarms
in any case (the quotas API does not set it, as in Aodh). -1 is no limit. Aodh's own
check compares a stored limit with the creating *user's* alarms and refuses everything
under a stored -1; here a stored limit counts the project's alarms and -1 is no limit,
as Aodh's documentation and client describe it. Reading a project without a stored
quota shows the default without storing it (Aodh stores it on the first read).

:func:`enforce` runs in the transaction that inserts the alarm, with the project's
quota row locked (``FOR UPDATE``) when it has one: concurrent creates of a project
with a stored limit wait for each other on every backend, and SQLite's writers are
serialized anyway (``BEGIN IMMEDIATE``), so they cannot both squeeze under a limit.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.alarm import models
from tinystack.alarm.conf import Options
from tinystack.alarm.services.deps import Deps
from tinystack.alarm.services.records import Limit, ProjectQuotas
from tinystack.alarm.services.rules import invalid
from tinystack.common.exceptions import BadRequest, Forbidden

ALARMS = "alarms"
#: the resources a quota may be set for (Aodh's)
RESOURCES = (ALARMS,)
#: the column is a 32-bit integer on every backend
MAX_LIMIT = 2**31 - 1
#: the length of the column (Aodh's)
PROJECT_ID_LENGTH = 128
_BODY_FIELDS = ("project_id", "quotas")
_QUOTA_FIELDS = ("resource", "limit")


def _unknown(argument: str, names: list[str]) -> BadRequest:
    """WSME's refusal of attributes its type does not have."""
    noun = "attributes" if len(names) > 1 else "attribute"
    return BadRequest(f"Unknown {noun} for argument {argument}: {', '.join(names)}")


def _missing(field: str) -> BadRequest:
    return invalid(field, None, "Mandatory field missing.")


def _limit(body: Mapping[str, object], value: object) -> int:
    """WSME's integer: what ``int()`` takes, at least -1."""
    if not isinstance(value, str | int | float):  # Aodh answers 500
        raise invalid("limit", value, f"Wrong type. Expected '{int}', got '{type(value)}'")
    try:
        number = int(value)
    except (ValueError, OverflowError) as exc:
        raise invalid("body", dict(body), str(exc)) from None
    if number < -1:
        raise invalid("limit", number, "Value should be greater or equal to -1")
    if number > MAX_LIMIT:
        raise invalid("limit", number, f"Value should be lower or equal to {MAX_LIMIT}")
    return number


def _quota(body: Mapping[str, object], item: object) -> Limit:
    if not isinstance(item, dict):
        raise invalid("quotas", item, f"Wrong type. Expected 'Quota', got '{type(item)}'")
    unknown = sorted(str(k) for k in item if k not in _QUOTA_FIELDS)
    if unknown:
        raise _unknown("body.quotas", unknown)
    resource = item.get("resource")
    if resource is None:
        raise _missing("resource")
    if resource not in RESOURCES:
        raise invalid("resource", resource, f"Value should be one of: {', '.join(RESOURCES)}")
    if item.get("limit") is None:
        raise _missing("limit")
    return Limit(str(resource), _limit(body, item["limit"]))


def parse(body: Mapping[str, object]) -> ProjectQuotas:
    """The quotas a ``POST /v2/quotas`` sets; 400 with WSME's words if ``body`` is bad."""
    unknown = sorted(str(k) for k in body if k not in _BODY_FIELDS)
    if unknown:
        raise _unknown("body", unknown)
    project_id = body.get("project_id")
    if project_id is None or project_id == "":
        raise _missing("project_id")
    if not isinstance(project_id, str):
        raise invalid("project_id", project_id,
                      f"Wrong type. Expected '{str}', got '{type(project_id)}'")  # fmt: skip
    if len(project_id) > PROJECT_ID_LENGTH:  # Aodh's column would refuse it: a 500
        raise invalid("project_id", project_id, "Value should have a maximum character "
                      f"requirement of {PROJECT_ID_LENGTH}")  # fmt: skip
    items = body.get("quotas", [])
    if not isinstance(items, list):
        raise invalid("body", dict(body), f"Value not a valid list: {items}")
    return ProjectQuotas(project_id, tuple(_quota(body, item) for item in items))


def _stored(session: Session, project_id: str) -> tuple[Limit, ...]:
    rows = session.scalars(
        select(models.Quota)
        .where(models.Quota.project_id == project_id)
        .order_by(models.Quota.resource)
    ).all()
    return tuple(Limit(row.resource, row.limit) for row in rows)


def get(deps: Deps, project_id: str) -> ProjectQuotas:
    """The project's stored quotas, or the ``[alarm]`` default of its alarms."""
    with deps.db.reader() as session:
        stored = _stored(session, project_id)
    return ProjectQuotas(project_id, stored or (Limit(ALARMS, deps.opts.project_alarm_quota),))


def _row(session: Session, project_id: str, resource: str) -> models.Quota | None:
    return session.scalars(
        select(models.Quota)
        .where(models.Quota.project_id == project_id, models.Quota.resource == resource)
        .with_for_update()
    ).one_or_none()


def _store(session: Session, project_id: str, resource: str, limit: int) -> None:
    row = _row(session, project_id, resource)
    if row is None:
        made = models.Quota(id=str(uuid.uuid4()), project_id=project_id, resource=resource,
                            limit=limit)  # fmt: skip
        try:
            with session.begin_nested():  # another transaction may be setting it too
                session.add(made)
                session.flush()
            return
        except IntegrityError:
            row = _row(session, project_id, resource)
            if row is None:
                raise
    row.limit = limit


def set_limits(deps: Deps, wanted: ProjectQuotas) -> ProjectQuotas:
    """Store each limit of ``wanted`` (the last one given for a resource wins); every
    stored quota of the project after the change."""

    def write(session: Session) -> tuple[Limit, ...]:
        for resource, limit in {q.resource: q.limit for q in wanted.quotas}.items():
            _store(session, wanted.project_id, resource, limit)
        return _stored(session, wanted.project_id)

    return ProjectQuotas(wanted.project_id, deps.db.write(write))


def delete_quotas(deps: Deps, project_id: str) -> None:
    """Back to the ``[alarm]`` defaults (nothing stored: nothing to do)."""
    with deps.db.writer() as session:
        session.execute(delete(models.Quota).where(models.Quota.project_id == project_id))


def enforce(session: Session, opts: Options, project_id: str, user_id: str) -> None:
    """403 unless the project and the user may have one more alarm; in the transaction
    that inserts it (see the module's docstring)."""
    row = _row(session, project_id, ALARMS)
    project_limit = row.limit if row is not None else opts.project_alarm_quota
    count = select(func.count()).select_from(models.Alarm)
    over = False
    if project_limit >= 0:
        in_project = session.scalar(count.where(models.Alarm.project_id == project_id)) or 0
        over = in_project >= project_limit
    if not over and opts.user_alarm_quota >= 0:
        of_user = session.scalar(count.where(models.Alarm.user_id == user_id)) or 0
        over = of_user >= opts.user_alarm_quota
    if over:
        raise Forbidden(f"Alarm quota exceeded for user {user_id} on project {project_id}")
