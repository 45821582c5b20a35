"""``/v3/auth/*``: issue, validate, check and revoke tokens; catalog and scopes of a token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.common.exceptions import Forbidden
from tinystack.identity.api.deps import DepsDep, authorize, read_route
from tinystack.identity.api.schemas import AuthBody
from tinystack.identity.api.views import collection, render_domain, render_project
from tinystack.identity.services import assignments, catalog, tokens

router = APIRouter(tags=["auth"])


@router.post("/v3/auth/tokens", status_code=201)
def issue_token(deps: DepsDep, body: AuthBody, nocatalog: str | None = None) -> JSONResponse:
    auth = body.auth.model_dump(exclude_unset=True, by_alias=True)
    payload = tokens.authenticate(deps, auth)
    token_id = deps.codec.encode(payload)
    rendered = tokens.render(deps, payload, with_catalog=nocatalog is None)
    return JSONResponse(rendered, status_code=201, headers={"X-Subject-Token": token_id})


def _subject(request: Request, ctx: ContextDep, deps: DepsDep, rule: str) -> Any:
    allow_expired = request.query_params.get("allow_expired", "").lower() in ("1", "true")
    payload = tokens.validate_subject(deps, request.headers.get("x-subject-token"), allow_expired)
    authorize(ctx, rule, {"target": {"token": {"user_id": payload.user_id}}})
    return payload


@router.get("/v3/auth/tokens")
def validate_token(request: Request, ctx: ContextDep, deps: DepsDep) -> JSONResponse:
    payload = _subject(request, ctx, deps, "identity:validate_token")
    nocatalog = "nocatalog" in request.query_params
    body = tokens.render(deps, payload, with_catalog=not nocatalog)
    return JSONResponse(body, headers={"X-Subject-Token": request.headers["x-subject-token"]})


@router.head("/v3/auth/tokens")
def check_token(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    _subject(request, ctx, deps, "identity:check_token")
    return Response(status_code=200)


@router.delete("/v3/auth/tokens", status_code=204)
def revoke_token(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    payload = _subject(request, ctx, deps, "identity:revoke_token")
    tokens.revoke_token(deps, payload)
    return Response(status_code=204)


@read_route(router, "/v3/auth/catalog")
def auth_catalog(request: Request, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    authorize(ctx, "identity:get_auth_catalog")
    if not ctx.project_id:
        raise Forbidden("A project-scoped token is required to produce a service catalog.")
    return {
        "catalog": catalog.token_catalog(deps),
        "links": {"self": str(request.url), "previous": None, "next": None},
    }


@read_route(router, "/v3/auth/projects")
def auth_projects(request: Request, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    authorize(ctx, "identity:get_auth_projects")
    projects = [p for p in assignments.user_projects(deps, str(ctx.user_id)) if p.enabled]
    return collection(request, "projects", projects, render_project)


@read_route(router, "/v3/auth/domains")
def auth_domains(request: Request, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    authorize(ctx, "identity:get_auth_domains")
    domains = [d for d in assignments.user_domains(deps, str(ctx.user_id)) if d.enabled]
    return collection(request, "domains", domains, render_domain)


@read_route(router, "/v3/auth/system")
def auth_system(request: Request, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    authorize(ctx, "identity:get_auth_system")
    system = [{"all": True}] if assignments.user_has_system_role(deps, str(ctx.user_id)) else []
    return {"system": system, "links": {"self": str(request.url), "previous": None, "next": None}}
