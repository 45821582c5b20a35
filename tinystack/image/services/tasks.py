"""Tasks: one row per import (``GET /v2/images/{id}/tasks``) and the ``/v2/tasks`` API.

``api_image_import`` tasks are written by ``POST .../import`` (``image_import.py``);
the legacy ``import`` type is created through ``POST /v2/tasks``
(``legacy_import.py`` runs it). A finished task lives ``TIME_TO_LIVE`` more, as
upstream's ``task_time_to_live``; lists leave expired tasks out.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from tinystack.common import timeutils
from tinystack.common.api import pagination
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.common.rpc.payload import JSON
from tinystack.image import models
from tinystack.image.policies import images as image_rules
from tinystack.image.services import _access
from tinystack.image.services.deps import Deps
from tinystack.image.services.records import TaskRecord

#: how long a finished task stays listed (upstream's task_time_to_live)
TIME_TO_LIVE = dt.timedelta(hours=48)
STATUSES = ("pending", "processing", "success", "failure")
TYPES = ("import",)
SORT_KEYS = ("created_at", "updated_at", "id", "type", "status", "owner", "expires_at")


def _alive(now: dt.datetime) -> ColumnElement[bool]:
    task = models.ImageTask
    return or_(task.expires_at.is_(None), task.expires_at > now)


def list_for_image(deps: Deps, ctx: RequestContext, image_id: str) -> list[TaskRecord]:
    """The image's import tasks, newest first, while they live."""
    with deps.db.reader() as session:
        image = _access.load_authorized(session, ctx, image_id, image_rules.GET_IMAGE)
        rows = session.execute(
            select(models.ImageTask)
            .where(models.ImageTask.image_id == image.id, _alive(timeutils.utcnow()))
            .order_by(models.ImageTask.created_at.desc())
        ).scalars()
        return [TaskRecord.from_model(t) for t in rows]


def start(
    session: Session,
    ctx: RequestContext,
    image_id: str | None,
    task_input: Mapping[str, JSON],
    task_type: str = "api_image_import",
) -> str:
    """Record a pending task (``task_input``: what it was asked, as Glance shows it)."""
    now = timeutils.utcnow()
    task = models.ImageTask(
        id=timeutils.new_uuid(),
        image_id=image_id,
        type=task_type,
        status="pending",
        owner=ctx.project_id,
        user_id=ctx.user_id,
        request_id=ctx.request_id,
        input=dict(task_input),
        result=None,
        message="",
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    return task.id


def finish(session: Session, task_id: str, failure: str | None) -> None:
    task = session.get(models.ImageTask, task_id)
    if task is None:
        return
    now = timeutils.utcnow()
    task.status = "failure" if failure else "success"
    task.message = failure or ""
    task.result = None if failure else {"image_id": task.image_id}
    task.updated_at = now
    task.expires_at = now + TIME_TO_LIVE


# -- /v2/tasks ----------------------------------------------------------------------------


def show(deps: Deps, ctx: RequestContext, task_id: str) -> TaskRecord:
    with deps.db.reader() as session:
        task = session.get(models.ImageTask, task_id)
        if task is None or not _visible(ctx, task):
            raise NotFound(f"Task with the given id {task_id} not found")
        return TaskRecord.from_model(task)


def _visible(ctx: RequestContext, task: models.ImageTask) -> bool:
    if task.expires_at is not None and task.expires_at <= timeutils.utcnow():
        return False
    return ctx.is_admin or task.owner == ctx.project_id


def list_tasks(
    deps: Deps, ctx: RequestContext, pairs: Sequence[tuple[str, str]]
) -> tuple[list[TaskRecord], str | None]:
    params = dict(pairs)
    limit = pagination.parse_limit(
        params.pop("limit", None),
        default=deps.opts.limit_param_default,
        maximum=deps.opts.api_limit_max,
        rules=pagination.GLANCE,
    )
    sort_key = params.pop("sort_key", "created_at")
    sort_dir = params.pop("sort_dir", "desc")
    if sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {sort_dir}")
    if sort_key not in SORT_KEYS:
        raise BadRequest(f"Invalid sort key: {sort_key}")
    marker = params.pop("marker", None)
    task = models.ImageTask
    where: list[ColumnElement[bool]] = [_alive(timeutils.utcnow())]
    status = params.get("status")
    if status:
        if status not in STATUSES:
            raise BadRequest(f"Invalid status value: {status}")
        where.append(task.status == status)
    kind = params.get("type")
    if kind:
        if kind not in TYPES:
            raise BadRequest(f"Invalid type value: {kind}")
        where.append(task.type == kind)
    if not ctx.is_admin:
        where.append(task.owner == (ctx.project_id or ""))
    column = getattr(task, sort_key)
    with deps.db.reader() as session:
        if marker is not None:
            where.append(_after(session, ctx, marker, sort_key, sort_dir))
        order = (
            (column.asc(), task.id.asc())
            if sort_dir == "asc"
            else (
                column.desc(),
                task.id.desc(),
            )
        )
        rows = session.execute(select(task).where(*where).order_by(*order).limit(limit)).scalars()
        records = [TaskRecord.from_model(t) for t in rows]
    return records, pagination.next_marker(records, lambda r: r.id, limit)


def _after(
    session: Session, ctx: RequestContext, marker: str, key: str, direction: str
) -> ColumnElement[bool]:
    try:
        uuid.UUID(marker)
    except ValueError:
        raise BadRequest("Invalid marker format") from None
    row = session.get(models.ImageTask, marker)
    if row is None or not _visible(ctx, row):
        raise pagination.marker_not_found(marker)
    task = models.ImageTask
    column, value = getattr(task, key), getattr(row, key)
    if direction == "asc":
        return or_(column > value, and_(column == value, task.id > row.id))
    return or_(column < value, and_(column == value, task.id < row.id))
