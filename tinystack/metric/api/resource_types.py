"""``/v1/resource_type``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.metric.api import views
from tinystack.metric.api.deps import DepsDep
from tinystack.metric.api.schemas import ResourceTypeCreate
from tinystack.metric.policies import resource_types as rules
from tinystack.metric.services import resource_types


def create_resource_type(ctx: ContextDep, deps: DepsDep, body: ResourceTypeCreate) -> Any:
    ctx.can(rules.CREATE, {})
    return views.resource_type(resource_types.create(deps, body.name, body.attributes))


def list_resource_types(ctx: ContextDep, deps: DepsDep) -> Any:
    ctx.can(rules.LIST, {})
    return [views.resource_type(t) for t in resource_types.list_all(deps)]


def show_resource_type(name: str, ctx: ContextDep, deps: DepsDep) -> Any:
    ctx.can(rules.GET, {})
    return views.resource_type(resource_types.get(deps, name))


def delete_resource_type(name: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(rules.DELETE, {})
    resource_types.delete(deps, name)
    return Response(status_code=204)
