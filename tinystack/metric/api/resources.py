"""``/v1/resource/{resource_type}``: resources and their metrics."""

from __future__ import annotations

from typing import Any

from fastapi import Query
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.metric.api import views
from tinystack.metric.api.deps import DepsDep
from tinystack.metric.api.schemas import ResourceBody
from tinystack.metric.policies import resources as rules
from tinystack.metric.services import resources
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
