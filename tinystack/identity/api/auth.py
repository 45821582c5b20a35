"""``/v3/auth/*``: issue, validate, check and revoke tokens; catalog and scopes of a token."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import Forbidden
from tinystack.identity.api.deps import DepsDep, authorize
from tinystack.identity.api.schemas import AuthBody
from tinystack.identity.api.views import (
    collection,
    render_catalog,
    render_domain,
    render_project,
    render_token,
)
from tinystack.identity.services import catalog, grants, mfa, oauth1, tokens


def issue_token(
    request: Request, deps: DepsDep, body: AuthBody, nocatalog: str | None = None
) -> JSONResponse:
    auth = body.auth.model_dump(exclude_unset=True, by_alias=True)
    signed = None
    if "oauth1" in body.auth.identity.methods:
        # The oauth1 method's credential is the request's OAuth signature.
        url = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
        signed = oauth1.SignedRequest(method="POST", url=url, headers=dict(request.headers))
    receipt = request.headers.get(mfa.RECEIPT_HEADER)
    try:
        issued = tokens.issue(
            deps, auth, with_catalog=nocatalog is None, signed=signed, receipt_id=receipt
        )
    except mfa.ReceiptRequired as more:
        # Partial authentication: the receipt and the rules, as upstream answers it.
        return JSONResponse(
            more.body, status_code=401, headers={mfa.RECEIPT_HEADER: more.receipt_id}
        )
    return JSONResponse(
        render_token(issued.token), status_code=201, headers={"X-Subject-Token": issued.id}
    )


def _allow_expired(request: Request) -> bool:
    return request.query_params.get("allow_expired", "").lower() in ("1", "true")


def validate_token(request: Request, ctx: ContextDep, deps: DepsDep) -> JSONResponse:
    subject = request.headers.get("x-subject-token")
    token = tokens.validate(
        deps,
        ctx,
        subject,
        allow_expired=_allow_expired(request),
        with_catalog="nocatalog" not in request.query_params,
    )
    return JSONResponse(render_token(token), headers={"X-Subject-Token": str(subject)})


def check_token(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    subject = request.headers.get("x-subject-token")
    tokens.check(deps, ctx, subject, allow_expired=_allow_expired(request))
    return Response(status_code=200)


def revoke_token(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    subject = request.headers.get("x-subject-token")
    tokens.revoke_token(deps, ctx, subject, allow_expired=_allow_expired(request))
    return Response(status_code=204)


def _federated_groups(ctx: RequestContext) -> tuple[str, ...]:
    """The groups a federated token's mapping gave its user (they count as memberships)."""
    federated = ctx.payload.federated if ctx.payload is not None else None
    return federated.group_ids if federated is not None else ()


def auth_catalog(request: Request, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    authorize(ctx, "identity:get_auth_catalog")
    if not ctx.project_id:
        raise Forbidden("A project-scoped token is required to produce a service catalog.")
    return {
        "catalog": render_catalog(catalog.token_catalog(deps, ctx.project_id)),
        "links": {"self": str(request.url), "previous": None, "next": None},
    }


def auth_projects(request: Request, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    authorize(ctx, "identity:get_auth_projects")
    groups = _federated_groups(ctx)
    projects = [p for p in grants.user_projects(deps, str(ctx.user_id), groups) if p.enabled]
    return collection(request, "projects", projects, render_project)


def auth_domains(request: Request, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    authorize(ctx, "identity:get_auth_domains")
    groups = _federated_groups(ctx)
    domains = [d for d in grants.user_domains(deps, str(ctx.user_id), groups) if d.enabled]
    return collection(request, "domains", domains, render_domain)


def auth_system(request: Request, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    authorize(ctx, "identity:get_auth_system")
    system = [{"all": True}] if grants.user_has_system_role(deps, str(ctx.user_id)) else []
    return {"system": system, "links": {"self": str(request.url), "previous": None, "next": None}}
