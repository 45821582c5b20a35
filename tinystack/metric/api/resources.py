"""``/v1/resource/{resource_type}``: resources and their metrics."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.common.exceptions import BadRequest
from tinystack.metric.api import views
from tinystack.metric.api.deps import DepsDep
from tinystack.metric.api.schemas import ResourceBody
from tinystack.metric.policies import resources as rules
from tinystack.metric.services import resources, search
from tinystack.metric.services.metrics import MetricSpec
from tinystack.metric.services.resources import ResourceSpec


def resource_spec(body: ResourceBody) -> ResourceSpec:
    wanted: dict[str, str | MetricSpec] = {}
    for name, what in (body.metrics or {}).items():
        if isinstance(what, str):
            wanted[name] = what
        else:
            policy, unit = what.get("archive_policy_name"), what.get("unit")
            wanted[name] = MetricSpec(
                None if policy is None else str(policy), None if unit is None else str(unit)
            )
    return ResourceSpec(
        id=body.id,
        project_id=body.project_id,
        user_id=body.user_id,
        started_at=body.started_at,
        ended_at=body.ended_at,
        metrics=wanted,
        attributes=dict(body.model_extra or {}),
        given=frozenset(body.model_fields_set),
    )


def create_resource(resource_type: str, ctx: ContextDep, deps: DepsDep, body: ResourceBody) -> Any:
    ctx.can(rules.CREATE, {"project_id": body.project_id, "user_id": body.user_id})
    return views.resource(resources.create(deps, ctx, resource_type, resource_spec(body)))


def list_resources(
    resource_type: str,
    ctx: ContextDep,
    deps: DepsDep,
    limit: int | None = Query(default=None, ge=1),
    marker: str | None = None,
) -> Any:
    ctx.can(rules.LIST, {"project_id": ctx.project_id, "created_by_project_id": ctx.project_id})
    found = resources.list_items(deps, ctx, resource_type, limit, marker)
    return [views.resource(r) for r in found]


async def search_resources(
    resource_type: str,
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    limit: int | None = Query(default=None, ge=1),
    marker: str | None = None,
    sort: list[str] = Query(default=[]),
    filter: str | None = None,
) -> Any:
    """The query: the ``filter`` parameter (the string form), else the JSON body."""
    ctx.can(rules.SEARCH, {"project_id": ctx.project_id, "created_by_project_id": ctx.project_id})
    if request.query_params.get("history", "false").lower() in ("true", "1", "yes"):
        raise BadRequest("Invalid input: resource history is not supported")
    if filter is not None:
        query: object = search.parse_filter(filter)
    else:
        raw = await request.body()
        try:
            query = json.loads(raw) if raw.strip() else None
        except ValueError:
            raise BadRequest("Unable to decode body") from None
    page = resources.Page(limit, marker, tuple(sort))
    found = await run_in_threadpool(resources.search_items, deps, ctx, resource_type, query, page)
    return [views.resource(r) for r in found]


def show_resource(resource_type: str, resource_id: str, ctx: ContextDep, deps: DepsDep) -> Any:
    return views.resource(resources.get(deps, ctx, resource_type, resource_id))


def update_resource(
    resource_type: str, resource_id: str, ctx: ContextDep, deps: DepsDep, body: ResourceBody
) -> Any:
    spec = resource_spec(body)
    return views.resource(resources.update(deps, ctx, resource_type, resource_id, spec))


def delete_resource(
    resource_type: str, resource_id: str, ctx: ContextDep, deps: DepsDep
) -> Response:
    resources.delete(deps, ctx, resource_type, resource_id)
    return Response(status_code=204)
