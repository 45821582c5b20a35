"""Import tasks: one row per ``POST .../import``, shown by ``GET /v2/images/{id}/tasks``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common import timeutils
from tinystack.common.auth.context import RequestContext
from tinystack.common.rpc.payload import JSON
from tinystack.image import models
from tinystack.image.policies import images as image_rules
from tinystack.image.services import _access
from tinystack.image.services.deps import Deps
from tinystack.image.services.records import TaskRecord

#: how long a finished task stays listed (upstream's task_time_to_live)
TIME_TO_LIVE = dt.timedelta(hours=48)


def list_for_image(deps: Deps, ctx: RequestContext, image_id: str) -> list[TaskRecord]:
    """The image's import tasks, newest first, while they live."""
    with deps.db.reader() as session:
        image = _access.load_authorized(session, ctx, image_id, image_rules.GET_IMAGE)
        now = timeutils.utcnow()
        rows = session.execute(
            select(models.ImageTask)
            .where(models.ImageTask.image_id == image.id)
            .order_by(models.ImageTask.created_at.desc())
        ).scalars()
        return [
            TaskRecord.from_model(t) for t in rows if t.expires_at is None or t.expires_at > now
        ]


def start(
    session: Session,
    ctx: RequestContext,
    image_id: str,
    import_req: Mapping[str, JSON],
    backend: str,
) -> str:
    """Record an import of ``image_id`` (``import_req``: the request as the client sent it)."""
    now = timeutils.utcnow()
    task = models.ImageTask(
        id=timeutils.new_uuid(),
        image_id=image_id,
        type="api_image_import",
        status="processing",
        owner=ctx.project_id,
        user_id=ctx.user_id,
        request_id=ctx.request_id,
        input={"image_id": image_id, "import_req": dict(import_req), "backend": [backend]},
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
