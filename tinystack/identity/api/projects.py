"""``/v3/projects`` and project tags."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query
from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.common.exceptions import NotFound
from tinystack.identity import models
from tinystack.identity.api.common import (
    Bool,
    Id,
    Open,
    ShortName,
    StateDep,
    Strict,
    authorize,
    base_url,
    collection,
    domain_target,
    link,
    read_route,
)
from tinystack.identity.core import projects

router = APIRouter(tags=["projects"])


class ProjectCreate(Open):
    name: ShortName
    domain_id: Id | None = None
    parent_id: Id | None = None
    description: str | None = None
    enabled: Bool = True
    is_domain: Bool = False
    tags: list[str] = Field(default_factory=list)


class ProjectUpdate(Open):
    NOT_NULL = ("name", "enabled")

    name: ShortName | None = None
    domain_id: Id | None = None
    parent_id: Id | None = None
    description: str | None = None
    enabled: Bool | None = None
    is_domain: Bool | None = None
    tags: list[str] | None = None


class ProjectBody(Strict):
    project: ProjectCreate


class ProjectUpdateBody(Strict):
    project: ProjectUpdate


class TagsBody(Strict):
    tags: list[str]


def render_project(request: Request, p: models.Project) -> dict[str, Any]:
    return {
        **p.extra,
        "id": p.id,
        "name": p.name,
        "domain_id": p.domain_id,
        "parent_id": p.parent_id or p.domain_id,
        "description": p.description or "",
        "enabled": p.enabled,
        "is_domain": False,
        "tags": [t.name for t in p.tags],
        "options": {},
        "links": link(request, f"/v3/projects/{p.id}"),
    }


def _target(p: models.Project) -> dict[str, Any]:
    return {"target": {"project": {"id": p.id, "domain_id": p.domain_id}, "domain_id": p.domain_id}}


def _split(value: str | None) -> list[str] | None:
    return [t for t in value.split(",") if t] if value else None


@router.post("/v3/projects", status_code=201)
def create_project(
    request: Request, ctx: ContextDep, st: StateDep, body: ProjectBody
) -> dict[str, Any]:
    data = body.project.fields_and_extra()
    authorize(
        ctx,
        "identity:create_project",
        {"target": {"project": data}, "domain_id": data.get("domain_id")},
    )
    return {"project": render_project(request, projects.create(st, data))}


@read_route(router, "/v3/projects")
def list_projects(
    request: Request,
    ctx: ContextDep,
    st: StateDep,
    name: str | None = None,
    domain_id: str | None = None,
    parent_id: str | None = None,
    enabled: bool | None = None,
    tags: str | None = None,
    tags_any: str | None = Query(None, alias="tags-any"),
    not_tags: str | None = Query(None, alias="not-tags"),
    not_tags_any: str | None = Query(None, alias="not-tags-any"),
) -> dict[str, Any]:
    # As upstream: the caller's own domain is the target, so a domain-scoped reader may
    # list, and sees only its domain; project-scoped tokens have no domain and are refused.
    authorize(ctx, "identity:list_projects", domain_target(ctx))
    filters = {
        "name": name,
        "domain_id": domain_id,
        "parent_id": parent_id,
        "enabled": enabled,
        "tags": _split(tags),
        "tags-any": _split(tags_any),
        "not-tags": _split(not_tags),
        "not-tags-any": _split(not_tags_any),
    }
    items = projects.list_projects(st, filters)
    if ctx.domain_id:
        items = [p for p in items if p.domain_id == ctx.domain_id]
    return collection(request, "projects", items, render_project)


@read_route(router, "/v3/projects/{project_id}")
def show_project(
    request: Request,
    ctx: ContextDep,
    st: StateDep,
    project_id: str,
    parents_as_ids: str | None = None,
    subtree_as_ids: str | None = None,
) -> dict[str, Any]:
    project = projects.show(st, project_id)
    authorize(ctx, "identity:get_project", _target(project))
    body = render_project(request, project)
    if parents_as_ids is not None:
        body["parents"] = projects.parents_as_ids(st, project_id)
    if subtree_as_ids is not None:
        body["subtree"] = projects.subtree_as_ids(st, project_id)
    return {"project": body}


@router.patch("/v3/projects/{project_id}")
def update_project(
    request: Request, ctx: ContextDep, st: StateDep, project_id: str, body: ProjectUpdateBody
) -> dict[str, Any]:
    authorize(ctx, "identity:update_project", _target(projects.show(st, project_id)))
    data = body.project.fields_and_extra(project_id)
    return {"project": render_project(request, projects.update(st, project_id, data))}


@router.delete("/v3/projects/{project_id}", status_code=204)
def delete_project(ctx: ContextDep, st: StateDep, project_id: str) -> Response:
    authorize(ctx, "identity:delete_project", _target(projects.show(st, project_id)))
    projects.delete(st, project_id)
    return Response(status_code=204)


@read_route(router, "/v3/projects/{project_id}/tags")
def list_tags(ctx: ContextDep, st: StateDep, project_id: str) -> dict[str, Any]:
    project = projects.show(st, project_id)
    authorize(ctx, "identity:list_project_tags", _target(project))
    return {"tags": [t.name for t in project.tags]}


@router.put("/v3/projects/{project_id}/tags")
def replace_tags(
    ctx: ContextDep, st: StateDep, project_id: str, body: TagsBody = Body(...)
) -> dict[str, Any]:
    authorize(ctx, "identity:update_project_tags", _target(projects.show(st, project_id)))
    return {"tags": projects.set_tags(st, project_id, body.tags)}


@router.delete("/v3/projects/{project_id}/tags", status_code=204)
def delete_tags(ctx: ContextDep, st: StateDep, project_id: str) -> Response:
    authorize(ctx, "identity:delete_project_tags", _target(projects.show(st, project_id)))
    projects.set_tags(st, project_id, [])
    return Response(status_code=204)


@read_route(router, "/v3/projects/{project_id}/tags/{tag}")
def check_tag(ctx: ContextDep, st: StateDep, project_id: str, tag: str) -> Response:
    project = projects.show(st, project_id)
    authorize(ctx, "identity:get_project_tag", _target(project))
    if tag not in [t.name for t in project.tags]:
        raise NotFound(f"Tag {tag} not found on project {project_id}.")
    return Response(status_code=204)


@router.put("/v3/projects/{project_id}/tags/{tag}", status_code=201)
def add_tag(request: Request, ctx: ContextDep, st: StateDep, project_id: str, tag: str) -> Response:
    authorize(ctx, "identity:create_project_tag", _target(projects.show(st, project_id)))
    projects.add_tag(st, project_id, tag)
    location = f"{base_url(request)}/v3/projects/{project_id}/tags/{tag}"
    return Response(status_code=201, headers={"Location": location})


@router.delete("/v3/projects/{project_id}/tags/{tag}", status_code=204)
def remove_tag(ctx: ContextDep, st: StateDep, project_id: str, tag: str) -> Response:
    authorize(ctx, "identity:delete_project_tag", _target(projects.show(st, project_id)))
    projects.remove_tag(st, project_id, tag)
    return Response(status_code=204)
