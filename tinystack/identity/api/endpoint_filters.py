"""``/v3/OS-EP-FILTER``: endpoint groups, and the endpoints (or groups) a project sees."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.identity.api.delegation_schemas import EndpointGroupBody, EndpointGroupUpdateBody
from tinystack.identity.api.deps import DepsDep, authorize
from tinystack.identity.api.views import (
    collection,
    link,
    render_endpoint,
    render_endpoint_group,
    render_project,
)
from tinystack.identity.services import endpoint_filters as filters

GROUPS = "/v3/OS-EP-FILTER/endpoint_groups"

# -- endpoint groups -------------------------------------------------------------------------


def create_group(
    request: Request, ctx: ContextDep, deps: DepsDep, body: EndpointGroupBody
) -> dict[str, Any]:
    authorize(ctx, "identity:create_endpoint_group")
    group = filters.create_group(deps, body.endpoint_group.fields())
    return {"endpoint_group": render_endpoint_group(request, group)}


def list_groups(
    request: Request, ctx: ContextDep, deps: DepsDep, name: str | None = None
) -> dict[str, Any]:
    authorize(ctx, "identity:list_endpoint_groups")
    groups = filters.list_groups(deps, name)
    return collection(request, "endpoint_groups", groups, render_endpoint_group)


def show_group(
    request: Request, ctx: ContextDep, deps: DepsDep, endpoint_group_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:get_endpoint_group")
    group = filters.show_group(deps, endpoint_group_id)
    return {"endpoint_group": render_endpoint_group(request, group)}


def update_group(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    endpoint_group_id: str,
    body: EndpointGroupUpdateBody,
) -> dict[str, Any]:
    authorize(ctx, "identity:update_endpoint_group")
    group = filters.update_group(deps, endpoint_group_id, body.endpoint_group.fields())
    return {"endpoint_group": render_endpoint_group(request, group)}


def delete_group(ctx: ContextDep, deps: DepsDep, endpoint_group_id: str) -> Response:
    authorize(ctx, "identity:delete_endpoint_group")
    filters.delete_group(deps, endpoint_group_id)
    return Response(status_code=204)


def group_endpoints(
    request: Request, ctx: ContextDep, deps: DepsDep, endpoint_group_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:list_endpoints_associated_with_endpoint_group")
    items = filters.group_endpoints(deps, endpoint_group_id)
    return collection(request, "endpoints", items, render_endpoint)


def group_projects(
    request: Request, ctx: ContextDep, deps: DepsDep, endpoint_group_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:list_projects_associated_with_endpoint_group")
    items = filters.group_projects(deps, endpoint_group_id)
    return collection(request, "projects", items, render_project)


# -- projects and endpoint groups ------------------------------------------------------------


def add_group_to_project(
    ctx: ContextDep, deps: DepsDep, endpoint_group_id: str, project_id: str
) -> Response:
    authorize(ctx, "identity:add_endpoint_group_to_project")
    filters.add_group_to_project(deps, endpoint_group_id, project_id)
    return Response(status_code=204)


def show_group_in_project(
    request: Request, ctx: ContextDep, deps: DepsDep, endpoint_group_id: str, project_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:get_endpoint_group_in_project")
    filters.check_group_in_project(deps, endpoint_group_id, project_id)
    return {
        "project_endpoint_group": {
            "endpoint_group_id": endpoint_group_id,
            "project_id": project_id,
            "links": link(request, f"{GROUPS}/{endpoint_group_id}/projects/{project_id}"),
        }
    }


def remove_group_from_project(
    ctx: ContextDep, deps: DepsDep, endpoint_group_id: str, project_id: str
) -> Response:
    authorize(ctx, "identity:remove_endpoint_group_from_project")
    filters.remove_group_from_project(deps, endpoint_group_id, project_id)
    return Response(status_code=204)


def project_groups(
    request: Request, ctx: ContextDep, deps: DepsDep, project_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:list_endpoint_groups_for_project")
    items = filters.project_groups(deps, project_id)
    return collection(request, "endpoint_groups", items, render_endpoint_group)


# -- projects and endpoints ------------------------------------------------------------------


def add_endpoint(ctx: ContextDep, deps: DepsDep, project_id: str, endpoint_id: str) -> Response:
    authorize(ctx, "identity:add_endpoint_to_project")
    filters.add_endpoint_to_project(deps, endpoint_id, project_id)
    return Response(status_code=204)


def check_endpoint(ctx: ContextDep, deps: DepsDep, project_id: str, endpoint_id: str) -> Response:
    authorize(ctx, "identity:check_endpoint_in_project")
    filters.check_endpoint_in_project(deps, endpoint_id, project_id)
    return Response(status_code=204)


def remove_endpoint(ctx: ContextDep, deps: DepsDep, project_id: str, endpoint_id: str) -> Response:
    authorize(ctx, "identity:remove_endpoint_from_project")
    filters.remove_endpoint_from_project(deps, endpoint_id, project_id)
    return Response(status_code=204)


def project_endpoints(
    request: Request, ctx: ContextDep, deps: DepsDep, project_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:list_endpoints_for_project")
    items = filters.project_endpoints(deps, project_id)
    return collection(request, "endpoints", items, render_endpoint)


def endpoint_projects(
    request: Request, ctx: ContextDep, deps: DepsDep, endpoint_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:list_projects_for_endpoint")
    items = filters.endpoint_projects(deps, endpoint_id)
    return collection(request, "projects", items, render_project)
