"""``/v3/projects`` and project tags."""

from __future__ import annotations

from typing import Any

from fastapi import Body, Query
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.identity.api.deps import DepsDep, authorize, domain_target
from tinystack.identity.api.schemas import ProjectBody, ProjectUpdateBody, TagsBody
from tinystack.identity.api.views import base_url, collection, render_project
from tinystack.identity.services import projects, projects_as_domains
from tinystack.identity.services.records import ProjectFilters


def _split(value: str | None) -> list[str] | None:
    return [t for t in value.split(",") if t] if value else None


def create_project(
    request: Request, ctx: ContextDep, deps: DepsDep, body: ProjectBody
) -> dict[str, Any]:
    data = body.project.attributes()
    authorize(
        ctx,
        "identity:create_project",
        {"target": {"project": data}, "domain_id": data.get("domain_id")},
    )
    return {"project": render_project(request, projects_as_domains.create(deps, data))}


def list_projects(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    name: str | None = None,
    domain_id: str | None = None,
    parent_id: str | None = None,
    enabled: bool | None = None,
    tags: str | None = None,
    tags_any: str | None = Query(None, alias="tags-any"),
    not_tags: str | None = Query(None, alias="not-tags"),
    not_tags_any: str | None = Query(None, alias="not-tags-any"),
    is_domain: bool | None = None,
) -> dict[str, Any]:
    # As upstream: the caller's own domain is the target, so a domain-scoped reader may
    # list, and sees only its domain; project-scoped tokens have no domain and are refused.
    authorize(ctx, "identity:list_projects", domain_target(ctx))
    filters: ProjectFilters = {
        "name": name,
        "domain_id": domain_id,
        "parent_id": parent_id,
        "enabled": enabled,
        "tags": _split(tags),
        "tags_any": _split(tags_any),
        "not_tags": _split(not_tags),
        "not_tags_any": _split(not_tags_any),
    }
    # As upstream, domains are listed (as projects) only when asked for with is_domain.
    items = projects_as_domains.list_projects(
        deps, filters, bool(is_domain), within_domain=ctx.domain_id
    )
    return collection(request, "projects", items, render_project)


def show_project(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    project_id: str,
    parents_as_ids: str | None = None,
    subtree_as_ids: str | None = None,
) -> dict[str, Any]:
    tree = projects_as_domains.show(
        deps,
        ctx,
        project_id,
        parents=parents_as_ids is not None,
        subtree=subtree_as_ids is not None,
    )
    body = render_project(request, tree.project)
    if parents_as_ids is not None:
        body["parents"] = tree.parents
    if subtree_as_ids is not None:
        body["subtree"] = tree.subtree
    return {"project": body}


def update_project(
    request: Request, ctx: ContextDep, deps: DepsDep, project_id: str, body: ProjectUpdateBody
) -> dict[str, Any]:
    data = body.project.attributes(project_id)
    project = projects_as_domains.update(deps, ctx, project_id, data)
    return {"project": render_project(request, project)}


def delete_project(ctx: ContextDep, deps: DepsDep, project_id: str) -> Response:
    projects_as_domains.delete(deps, ctx, project_id)
    return Response(status_code=204)


def list_tags(ctx: ContextDep, deps: DepsDep, project_id: str) -> dict[str, Any]:
    return {"tags": list(projects.tags(deps, ctx, project_id))}


def replace_tags(
    ctx: ContextDep, deps: DepsDep, project_id: str, body: TagsBody = Body(...)
) -> dict[str, Any]:
    return {"tags": projects.replace_tags(deps, ctx, project_id, body.tags)}


def delete_tags(ctx: ContextDep, deps: DepsDep, project_id: str) -> Response:
    projects.clear_tags(deps, ctx, project_id)
    return Response(status_code=204)


def check_tag(ctx: ContextDep, deps: DepsDep, project_id: str, tag: str) -> Response:
    projects.check_tag(deps, ctx, project_id, tag)
    return Response(status_code=204)


def add_tag(
    request: Request, ctx: ContextDep, deps: DepsDep, project_id: str, tag: str
) -> Response:
    projects.add_tag(deps, ctx, project_id, tag)
    location = f"{base_url(request)}/v3/projects/{project_id}/tags/{tag}"
    return Response(status_code=201, headers={"Location": location})


def remove_tag(ctx: ContextDep, deps: DepsDep, project_id: str, tag: str) -> Response:
    projects.remove_tag(deps, ctx, project_id, tag)
    return Response(status_code=204)
