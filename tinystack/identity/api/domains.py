"""``/v3/domains``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.identity.api.deps import DepsDep, authorize
from tinystack.identity.api.schemas import DomainBody, DomainUpdateBody
from tinystack.identity.api.views import collection, render_domain
from tinystack.identity.services import domains


def _target(domain_id: str) -> dict[str, Any]:
    return {"target": {"domain": {"id": domain_id}}, "domain_id": domain_id}


def create_domain(
    request: Request, ctx: ContextDep, deps: DepsDep, body: DomainBody
) -> dict[str, Any]:
    authorize(ctx, "identity:create_domain", {})
    return {"domain": render_domain(request, domains.create(deps, body.domain.attributes()))}


def list_domains(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    name: str | None = None,
    enabled: bool | None = None,
) -> dict[str, Any]:
    authorize(ctx, "identity:list_domains", {})
    return collection(request, "domains", domains.list_domains(deps, name, enabled), render_domain)


def show_domain(request: Request, ctx: ContextDep, deps: DepsDep, domain_id: str) -> dict[str, Any]:
    # A project-scoped user may read the domain its project is in (project_domain_id).
    authorize(ctx, "identity:get_domain", _target(domain_id))
    return {"domain": render_domain(request, domains.show(deps, domain_id))}


def update_domain(
    request: Request, ctx: ContextDep, deps: DepsDep, domain_id: str, body: DomainUpdateBody
) -> dict[str, Any]:
    authorize(ctx, "identity:update_domain", _target(domain_id))
    domain = domains.update(deps, domain_id, body.domain.attributes(domain_id))
    return {"domain": render_domain(request, domain)}


def delete_domain(ctx: ContextDep, deps: DepsDep, domain_id: str) -> Response:
    authorize(ctx, "identity:delete_domain", _target(domain_id))
    domains.delete(deps, domain_id)
    return Response(status_code=204)
