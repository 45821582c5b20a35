"""The legacy ``import`` task of ``POST /v2/tasks``: a new image filled from a URL.

The request's ``input`` names ``import_from`` (a URL, which must pass the import
filter: 400 at once otherwise, as current Glance), ``import_from_format`` and
``image_properties`` (the new image's attributes). The task runs on the tasks
pool: it creates the image as the caller, locks it, and then fetches the data
with the web-download machinery of ``import_flow.py`` into the default store;
the task's result names the image.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy.orm import Session

from tinystack.common import timeutils
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest
from tinystack.common.rpc.payload import JSON
from tinystack.image import models
from tinystack.image.services import image_attributes, images, import_filter, import_flow, tasks
from tinystack.image.services._access import get_row
from tinystack.image.services.deps import Deps
from tinystack.image.services.image_props import IMPORTING, LOCK, set_property
from tinystack.image.services.records import TaskRecord

LOG = logging.getLogger(__name__)
REQUIRED_INPUT = ("import_from", "import_from_format", "image_properties")


def parse_create(body: object) -> tuple[str, dict[str, JSON]]:
    """(type, input) of a ``POST /v2/tasks`` body."""
    if not isinstance(body, dict):
        raise BadRequest("Body expected in request.")
    for param in ("type", "input"):
        if param not in body:
            raise BadRequest(f"Task '{param}' is required")
    kind, task_input = body["type"], body["input"]
    if kind not in tasks.TYPES:
        raise BadRequest(
            f"Provided object does not match schema 'task': {kind!r} is not one of "
            f"{list(tasks.TYPES)}"
        )
    if not isinstance(task_input, dict):
        raise BadRequest("Provided object does not match schema 'task': input is not an object")
    extra = set(body) - {"type", "input"}
    if extra:
        raise BadRequest(f"Provided object does not match schema 'task': {sorted(extra)}")
    return str(kind), task_input


def create(
    deps: Deps, ctx: RequestContext, kind: str, task_input: Mapping[str, JSON]
) -> TaskRecord:
    uri = task_input.get("import_from")
    if not import_filter.allowed(deps.opts, uri):
        raise BadRequest(f"The given uri is not valid. Please specify a valid uri: {uri}")

    def txn(session: Session) -> TaskRecord:
        task_id = tasks.start(session, ctx, None, task_input, task_type=kind)
        session.flush()
        row = session.get(models.ImageTask, task_id)
        assert row is not None
        return TaskRecord.from_model(row)

    record = deps.db.write(txn)
    deps.tasks_pool.submit(run, deps, ctx, record.id)
    return record


def run(deps: Deps, ctx: RequestContext, task_id: str) -> None:
    try:
        job = _prepare(deps, ctx, task_id)
    except Exception as exc:
        failure = import_flow.reason(exc)
        LOG.info("import task %s failed: %s", task_id, failure)
        deps.db.write(lambda s: tasks.finish(s, task_id, failure))
        return
    if job is not None:
        import_flow.execute(deps, job, ctx.token)


def _prepare(deps: Deps, ctx: RequestContext, task_id: str) -> import_flow.Job | None:
    def claim(session: Session) -> Mapping[str, JSON] | None:
        task = session.get(models.ImageTask, task_id)
        if task is None or task.status != "pending":
            return None
        task.status = "processing"
        task.updated_at = timeutils.utcnow()
        return dict(task.input)

    task_input = deps.db.write(claim)
    if task_input is None:
        return None
    for key in REQUIRED_INPUT:
        if key not in task_input:
            raise BadRequest(f"Input does not contain '{key}' field")
    properties = task_input["image_properties"]
    if not isinstance(properties, dict):
        raise BadRequest("image_properties must be an object")
    request = image_attributes.parse_create(properties, deps.formats)
    image = images.create(deps, ctx, request)
    store = deps.stores.default_id

    def lock(session: Session) -> None:
        row = get_row(session, image.id)
        task = session.get(models.ImageTask, task_id)
        assert row is not None and task is not None
        task.image_id = row.id
        row.status = "importing"
        set_property(row, LOCK, task_id)
        set_property(row, IMPORTING, store)

    deps.db.write(lock)
    return import_flow.Job(
        task_id=task_id,
        image_id=image.id,
        method="web-download",
        stores=(store,),
        must_succeed=True,
        uri=str(task_input["import_from"]),
        remote={},
        disk_format=image.disk_format,
        container_format=image.container_format,
        owner=image.owner,
    )
