"""``/v3/domains``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.identity import models
from tinystack.identity.api.common import (
    Bool,
    Id,
    Open,
    ShortName,
    StateDep,
    Strict,
    authorize,
    collection,
    link,
    read_route,
)
from tinystack.identity.core import projects

router = APIRouter(tags=["domains"])


class DomainCreate(Open):
    name: ShortName
    description: str | None = None
    enabled: Bool = True
    explicit_domain_id: Id | None = None
    tags: list[str] = Field(default_factory=list)


class DomainUpdate(Open):
    NOT_NULL = ("name", "enabled")

    name: ShortName | None = None
    description: str | None = None
    enabled: Bool | None = None
    tags: list[str] | None = None


class DomainBody(Strict):
    domain: DomainCreate


class DomainUpdateBody(Strict):
    domain: DomainUpdate


def render_domain(request: Request, d: models.Domain) -> dict[str, Any]:
    return {
        **d.extra,
        "id": d.id,
        "name": d.name,
        "description": d.description or "",
        "enabled": d.enabled,
        "tags": list(d.tags),
        "options": {},
        "links": link(request, f"/v3/domains/{d.id}"),
    }


def _target(domain_id: str) -> dict[str, Any]:
    return {"target": {"domain": {"id": domain_id}}, "domain_id": domain_id}


@router.post("/v3/domains", status_code=201)
def create_domain(
    request: Request, ctx: ContextDep, st: StateDep, body: DomainBody
) -> dict[str, Any]:
    authorize(ctx, "identity:create_domain", {})
    return {
        "domain": render_domain(request, projects.create_domain(st, body.domain.fields_and_extra()))
    }


@read_route(router, "/v3/domains")
def list_domains(
    request: Request,
    ctx: ContextDep,
    st: StateDep,
    name: str | None = None,
    enabled: bool | None = None,
) -> dict[str, Any]:
    authorize(ctx, "identity:list_domains", {})
    return collection(request, "domains", projects.list_domains(st, name, enabled), render_domain)


@read_route(router, "/v3/domains/{domain_id}")
def show_domain(request: Request, ctx: ContextDep, st: StateDep, domain_id: str) -> dict[str, Any]:
    # A project-scoped user may read the domain its project is in (project_domain_id).
    authorize(ctx, "identity:get_domain", _target(domain_id))
    return {"domain": render_domain(request, projects.show_domain(st, domain_id))}


@router.patch("/v3/domains/{domain_id}")
def update_domain(
    request: Request, ctx: ContextDep, st: StateDep, domain_id: str, body: DomainUpdateBody
) -> dict[str, Any]:
    authorize(ctx, "identity:update_domain", _target(domain_id))
    domain = projects.update_domain(st, domain_id, body.domain.fields_and_extra(domain_id))
    return {"domain": render_domain(request, domain)}


@router.delete("/v3/domains/{domain_id}", status_code=204)
def delete_domain(ctx: ContextDep, st: StateDep, domain_id: str) -> Response:
    authorize(ctx, "identity:delete_domain", _target(domain_id))
    projects.delete_domain(st, domain_id)
    return Response(status_code=204)
