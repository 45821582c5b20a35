"""Import tasks: one row per ``POST .../import``, shown by ``GET /v2/images/{id}/tasks``."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.image import models
from tinystack.image.services.common import utcnow

#: how long a finished task stays listed (upstream's task_time_to_live)
TIME_TO_LIVE = dt.timedelta(hours=48)


def start(session: Session, ctx: RequestContext, image_id: str, task_input: dict[str, Any]) -> str:
    now = utcnow()
    task = models.ImageTask(
        id=str(uuid.uuid4()),
        image_id=image_id,
        type="api_image_import",
        status="processing",
        owner=ctx.project_id,
        user_id=ctx.user_id,
        request_id=ctx.request_id,
        input=task_input,
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
    now = utcnow()
    task.status = "failure" if failure else "success"
    task.message = failure or ""
    task.result = None if failure else {"image_id": task.image_id}
    task.updated_at = now
    task.expires_at = now + TIME_TO_LIVE


def for_image(session: Session, image_id: str) -> list[dict[str, Any]]:
    now = utcnow()
    rows = session.execute(
        select(models.ImageTask)
        .where(models.ImageTask.image_id == image_id)
        .order_by(models.ImageTask.created_at.desc())
    ).scalars()
    return [_view(t) for t in rows if t.expires_at is None or t.expires_at > now]


def _time(value: dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value else None


def _view(task: models.ImageTask) -> dict[str, Any]:
    # Glance answers with request_id/user_id (what Tempest checks); its api-ref sample
    # spells them request-id/user: both are given
    return {
        "id": task.id,
        "image_id": task.image_id,
        "request_id": task.request_id,
        "request-id": task.request_id,
        "user_id": task.user_id,
        "user": task.user_id,
        "type": task.type,
        "status": task.status,
        "owner": task.owner,
        "expires_at": _time(task.expires_at),
        "created_at": _time(task.created_at),
        "updated_at": _time(task.updated_at),
        "deleted_at": None,
        "deleted": False,
        "input": task.input,
        "result": task.result,
        "message": task.message,
    }
