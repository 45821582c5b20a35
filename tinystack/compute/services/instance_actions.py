"""Instance actions and their events: what was asked of an instance, and how it went."""

from __future__ import annotations

import contextlib
import logging
import traceback as tb
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.common.rpc.context import CallContext
from tinystack.common.timeutils import utcnow
from tinystack.compute import exception, models
from tinystack.compute.services.records import from_row

LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ActionRecord:
    action: str
    instance_uuid: str
    request_id: str
    user_id: str | None
    project_id: str | None
    start_time: datetime
    message: str | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class EventRecord:
    event: str
    start_time: datetime
    finish_time: datetime | None
    result: str | None
    traceback: str | None
    host: str | None
    details: str | None


@dataclass(frozen=True, slots=True)
class EventSpan:
    """When one event started and finished (None: still running)."""

    start: datetime
    finish: datetime | None


# upstream's action names
CREATE = "create"
DELETE = "delete"
EVACUATE = "evacuate"
RESTORE = "restore"
STOP = "stop"
START = "start"
REBOOT = "reboot"
REBUILD = "rebuild"
REVERT_RESIZE = "revertResize"
CONFIRM_RESIZE = "confirmResize"
RESIZE = "resize"
MIGRATE = "migrate"
PAUSE = "pause"
UNPAUSE = "unpause"
SUSPEND = "suspend"
RESUME = "resume"
RESCUE = "rescue"
UNRESCUE = "unrescue"
CHANGE_PASSWORD = "changePassword"
SHELVE = "shelve"
SHELVE_OFFLOAD = "shelveOffload"
UNSHELVE = "unshelve"
LOCK = "lock"
UNLOCK = "unlock"
BACKUP = "createBackup"
CREATE_IMAGE = "createImage"
RESET_STATE = "resetState"
ATTACH_INTERFACE = "attach_interface"
DETACH_INTERFACE = "detach_interface"
ATTACH_VOLUME = "attach_volume"
DETACH_VOLUME = "detach_volume"
SWAP_VOLUME = "swap_volume"
EXTEND_VOLUME = "extend_volume"
TRIGGER_CRASH_DUMP = "trigger_crash_dump"
ADD_SECURITY_GROUP = "add_security_group"
REMOVE_SECURITY_GROUP = "remove_security_group"
POWER_UPDATE = "power_update"


def start(session: Session, ctx: CallContext, uuid: str, action: str) -> None:
    """Record that ``action`` was asked of the instance (inside the caller's transaction)."""
    now = utcnow()
    row = models.InstanceAction(
        action=action,
        instance_uuid=uuid,
        request_id=ctx.request_id,
        user_id=ctx.user_id,
        project_id=ctx.project_id,
        start_time=now,
        created_at=now,
        updated_at=None,
    )
    session.add(row)


def record_start(db: Database, ctx: CallContext, uuid: str, action: str) -> None:
    db.write(lambda s: start(s, ctx, uuid, action))


def _action(session: Session, ctx: CallContext, uuid: str) -> models.InstanceAction | None:
    return session.scalars(
        select(models.InstanceAction)
        .where(
            models.InstanceAction.instance_uuid == uuid,
            models.InstanceAction.request_id == ctx.request_id,
        )
        .order_by(models.InstanceAction.id.desc())
    ).first()


def finish(session: Session, ctx: CallContext, uuid: str, *, failed: bool = False) -> None:
    action = _action(session, ctx, uuid)
    if action is None:
        return
    now = utcnow()
    action.finish_time = now
    action.updated_at = now
    if failed:
        action.message = "Error"


def event_start_in(
    session: Session, ctx: CallContext, uuid: str, event: str, host: str | None
) -> None:
    action = _action(session, ctx, uuid)
    if action is None:
        return
    now = utcnow()
    row = models.InstanceActionEvent(
        action_id=action.id, event=event, start_time=now, host=host, finish_time=None
    )
    session.add(row)
    action.updated_at = now


def event_finish_in(
    session: Session,
    ctx: CallContext,
    uuid: str,
    event: str,
    *,
    error: BaseException | None = None,
    host: str | None = None,
    started: datetime | None = None,
    finish_action: bool = False,
) -> None:
    """Close an event (creating it if ``started`` is given: a start and finish in one write)."""
    action = _action(session, ctx, uuid)
    if action is None:
        return
    now = utcnow()
    row = None
    if started is None:
        row = session.scalars(
            select(models.InstanceActionEvent)
            .where(
                models.InstanceActionEvent.action_id == action.id,
                models.InstanceActionEvent.event == event,
            )
            .order_by(models.InstanceActionEvent.id.desc())
        ).first()
    if row is None:
        row = models.InstanceActionEvent(
            action_id=action.id, event=event, start_time=started or now, host=host
        )
        session.add(row)
    row.finish_time = now
    row.result = "Error" if error is not None else "Success"
    if error is not None:
        row.traceback = "".join(tb.format_exception(error))
        row.details = getattr(error, "message", None) or str(error) or type(error).__name__
        action.message = "Error"
    action.updated_at = now
    if finish_action:
        action.finish_time = now


@contextlib.contextmanager
def record(
    db: Database, ctx: CallContext, uuid: str, event: str, host: str | None
) -> Iterator[None]:
    """Record an event around a block: start, then Success or Error (re-raising)."""
    db.write(lambda s: event_start_in(s, ctx, uuid, event, host))
    try:
        yield
    except BaseException as exc:
        _record_failure(db, ctx, uuid, event, host, exc)
        raise
    db.write(lambda s: event_finish_in(s, ctx, uuid, event, host=host))


def _record_failure(
    db: Database, ctx: CallContext, uuid: str, event: str, host: str | None, error: BaseException
) -> None:
    def write(session: Session) -> None:
        event_finish_in(session, ctx, uuid, event, error=error, host=host)

    try:
        db.write(write)
    except Exception:
        LOG.exception("cannot record the failure of %s on %s", event, uuid)


# -- reads ------------------------------------------------------------------------------------
def list_for(
    db: Database,
    uuid: str,
    *,
    limit: int | None = None,
    marker: str | None = None,
    changes_since: datetime | None = None,
    changes_before: datetime | None = None,
) -> list[ActionRecord]:
    with db.reader() as session:
        query = select(models.InstanceAction).where(models.InstanceAction.instance_uuid == uuid)
        if changes_since is not None:
            query = query.where(models.InstanceAction.updated_at >= changes_since)
        if changes_before is not None:
            query = query.where(models.InstanceAction.updated_at <= changes_before)
        query = query.order_by(
            models.InstanceAction.created_at.desc(), models.InstanceAction.id.desc()
        )
        rows = [from_row(ActionRecord, row) for row in session.scalars(query)]
    if marker is not None:
        ids = [r.request_id for r in rows]
        if marker not in ids:
            raise exception.ActionNotFound(marker, uuid)
        rows = rows[ids.index(marker) + 1 :]
    if limit is not None:
        rows = rows[:limit]
    return rows


def get_with_events(
    db: Database, uuid: str, request_id: str
) -> tuple[ActionRecord, list[EventRecord]]:
    with db.reader() as session:
        action = session.scalars(
            select(models.InstanceAction).where(
                models.InstanceAction.instance_uuid == uuid,
                models.InstanceAction.request_id == request_id,
            )
        ).first()
        if action is None:
            raise exception.ActionNotFound(request_id, uuid)
        events = [
            from_row(EventRecord, row)
            for row in session.scalars(
                select(models.InstanceActionEvent)
                .where(models.InstanceActionEvent.action_id == action.id)
                .order_by(models.InstanceActionEvent.id.desc())
            )
        ]
        return from_row(ActionRecord, action), events


def event_durations(db: Database, event: str, since: datetime) -> list[EventSpan]:
    """Start and finish times of one kind of event (for benchmarks and diagnostics)."""
    with db.reader() as session:
        rows = session.execute(
            select(
                models.InstanceActionEvent.start_time, models.InstanceActionEvent.finish_time
            ).where(
                models.InstanceActionEvent.event == event,
                models.InstanceActionEvent.start_time >= since,
            )
        ).all()
    return [EventSpan(start, finish) for start, finish in rows]
