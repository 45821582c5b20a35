"""``/v2/tasks``: list, show and create tasks (the legacy ``import`` type; admin by default)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api import pagination
from tinystack.common.api.deps import ContextDep
from tinystack.image.api.deps import DepsDep, TaskBody
from tinystack.image.api.metadef_views import render_task
from tinystack.image.policies import tasks as task_rules
from tinystack.image.services import legacy_import, tasks


def _access(ctx: ContextDep, rule: str) -> None:
    target = {"project_id": ctx.project_id}
    ctx.can(task_rules.TASKS_API_ACCESS, target)
    ctx.can(rule, target)


def list_tasks(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    _access(ctx, task_rules.GET_TASKS)
    pairs = request.query_params.multi_items()
    records, next_marker = tasks.list_tasks(deps, ctx, pairs)
    links = pagination.first_next("/v2/tasks", pairs, next_marker)
    body: dict[str, object] = {
        "tasks": [render_task(t, full=False) for t in records],
        "first": links["first"],
        "schema": "/v2/schemas/tasks",
    }
    if "next" in links:
        body["next"] = links["next"]
    return JSONResponse(body)


def show_task(task_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    _access(ctx, task_rules.GET_TASK)
    return JSONResponse(render_task(tasks.show(deps, ctx, task_id)))


def create_task(ctx: ContextDep, deps: DepsDep, body: TaskBody) -> Response:
    _access(ctx, task_rules.ADD_TASK)
    kind, task_input = body
    record = legacy_import.create(deps, ctx, kind, task_input)
    headers = {"Location": f"/v2/tasks/{record.id}"}
    return JSONResponse(render_task(record), status_code=201, headers=headers)
