"""``/v3/auth/*``: issue, validate, check and revoke tokens; catalog and scopes of a token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import ConfigDict, Field, StrictBool, StrictStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.common.exceptions import Forbidden
from tinystack.identity.api.common import (
    RequestBody,
    StateDep,
    authorize,
    collection,
    read_route,
)
from tinystack.identity.api.domains import render_domain
from tinystack.identity.api.projects import render_project
from tinystack.identity.core import assignments, catalog, tokens

router = APIRouter(tags=["auth"])


class _Loose(RequestBody):
    """Type checks of the auth body as upstream's schema has them; unknown keys pass."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class DomainRef(_Loose):
    id: StrictStr | None = None
    name: StrictStr | None = None


class UserRef(_Loose):
    id: StrictStr | None = None
    name: StrictStr | None = None
    password: StrictStr | None = None
    domain: DomainRef | None = None


class PasswordMethod(_Loose):
    user: UserRef | None = None


class TokenMethod(_Loose):
    id: StrictStr


class AppCredMethod(_Loose):
    id: StrictStr | None = None
    name: StrictStr | None = None
    secret: StrictStr | None = None
    user: UserRef | None = None


class AuthIdentity(_Loose):
    methods: list[StrictStr]
    password: PasswordMethod | None = None
    token: TokenMethod | None = None
    application_credential: AppCredMethod | None = None


class ProjectRef(_Loose):
    id: StrictStr | None = None
    name: StrictStr | None = None
    domain: DomainRef | None = None


class SystemRef(_Loose):
    all: StrictBool | None = None


class TrustRef(_Loose):
    id: StrictStr | None = None


class AuthScope(_Loose):
    project: ProjectRef | None = None
    domain: DomainRef | None = None
    system: SystemRef | None = None
    trust: TrustRef | None = Field(None, alias="OS-TRUST:trust")


class Auth(_Loose):
    identity: AuthIdentity
    scope: AuthScope | StrictStr | None = None


class AuthBody(_Loose):
    auth: Auth


@router.post("/v3/auth/tokens", status_code=201)
def issue_token(st: StateDep, body: AuthBody, nocatalog: str | None = None) -> JSONResponse:
    auth = body.auth.model_dump(exclude_unset=True, by_alias=True)
    payload = tokens.authenticate(st, auth)
    token_id = st.codec.encode(payload)
    rendered = tokens.render(st, payload, with_catalog=nocatalog is None)
    return JSONResponse(rendered, status_code=201, headers={"X-Subject-Token": token_id})


def _subject(request: Request, ctx: ContextDep, st: StateDep, rule: str) -> Any:
    allow_expired = request.query_params.get("allow_expired", "").lower() in ("1", "true")
    payload = tokens.validate_subject(st, request.headers.get("x-subject-token"), allow_expired)
    authorize(ctx, rule, {"target": {"token": {"user_id": payload.user_id}}})
    return payload


@router.get("/v3/auth/tokens")
def validate_token(request: Request, ctx: ContextDep, st: StateDep) -> JSONResponse:
    payload = _subject(request, ctx, st, "identity:validate_token")
    nocatalog = "nocatalog" in request.query_params
    body = tokens.render(st, payload, with_catalog=not nocatalog)
    return JSONResponse(body, headers={"X-Subject-Token": request.headers["x-subject-token"]})


@router.head("/v3/auth/tokens")
def check_token(request: Request, ctx: ContextDep, st: StateDep) -> Response:
    _subject(request, ctx, st, "identity:check_token")
    return Response(status_code=200)


@router.delete("/v3/auth/tokens", status_code=204)
def revoke_token(request: Request, ctx: ContextDep, st: StateDep) -> Response:
    payload = _subject(request, ctx, st, "identity:revoke_token")
    tokens.revoke_token(st, payload)
    return Response(status_code=204)


@read_route(router, "/v3/auth/catalog")
def auth_catalog(request: Request, ctx: ContextDep, st: StateDep) -> dict[str, Any]:
    authorize(ctx, "identity:get_auth_catalog")
    if not ctx.project_id:
        raise Forbidden("A project-scoped token is required to produce a service catalog.")
    return {
        "catalog": catalog.token_catalog(st),
        "links": {"self": str(request.url), "previous": None, "next": None},
    }


@read_route(router, "/v3/auth/projects")
def auth_projects(request: Request, ctx: ContextDep, st: StateDep) -> dict[str, Any]:
    authorize(ctx, "identity:get_auth_projects")
    projects = [p for p in assignments.user_projects(st, str(ctx.user_id)) if p.enabled]
    return collection(request, "projects", projects, render_project)


@read_route(router, "/v3/auth/domains")
def auth_domains(request: Request, ctx: ContextDep, st: StateDep) -> dict[str, Any]:
    authorize(ctx, "identity:get_auth_domains")
    domains = [d for d in assignments.user_domains(st, str(ctx.user_id)) if d.enabled]
    return collection(request, "domains", domains, render_domain)


@read_route(router, "/v3/auth/system")
def auth_system(request: Request, ctx: ContextDep, st: StateDep) -> dict[str, Any]:
    authorize(ctx, "identity:get_auth_system")
    system = [{"all": True}] if assignments.user_has_system_role(st, str(ctx.user_id)) else []
    return {"system": system, "links": {"self": str(request.url), "previous": None, "next": None}}
