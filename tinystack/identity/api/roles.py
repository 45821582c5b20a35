"""``/v3/roles``, implied roles and ``/v3/role_inferences``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.identity import models
from tinystack.identity.api.common import (
    Id,
    Name,
    Open,
    StateDep,
    Strict,
    authorize,
    base_url,
    collection,
    link,
    read_route,
)
from tinystack.identity.core import roles

router = APIRouter(tags=["roles"])


class RoleCreate(Open):
    name: Name
    domain_id: Id | None = None
    description: str | None = None
    options: dict[str, Any] | None = None


class RoleUpdate(Open):
    NOT_NULL = ("name",)

    name: Name | None = None
    domain_id: Id | None = None
    description: str | None = None
    options: dict[str, Any] | None = None


class RoleBody(Strict):
    role: RoleCreate


class RoleUpdateBody(Strict):
    role: RoleUpdate


def render_role(request: Request, r: models.Role) -> dict[str, Any]:
    return {
        **r.extra,
        "id": r.id,
        "name": r.name,
        "domain_id": r.domain_id,
        "description": r.description,
        "options": dict(r.options),
        "links": link(request, f"/v3/roles/{r.id}"),
    }


def _ref(request: Request, r: models.Role) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "links": link(request, f"/v3/roles/{r.id}")}


def _target(domain_id: str | None) -> dict[str, Any]:
    return {"target": {"role": {"domain_id": domain_id}, "domain_id": domain_id}}


@router.post("/v3/roles", status_code=201)
def create_role(request: Request, ctx: ContextDep, st: StateDep, body: RoleBody) -> dict[str, Any]:
    data = body.role.fields_and_extra()
    authorize(ctx, "identity:create_role", _target(data.get("domain_id")))
    return {"role": render_role(request, roles.create(st, data))}


@read_route(router, "/v3/roles")
def list_roles(
    request: Request,
    ctx: ContextDep,
    st: StateDep,
    name: str | None = None,
    domain_id: str | None = None,
) -> dict[str, Any]:
    authorize(ctx, "identity:list_roles", _target(domain_id))
    return collection(request, "roles", roles.list_roles(st, name, domain_id), render_role)


@read_route(router, "/v3/roles/{role_id}")
def show_role(request: Request, ctx: ContextDep, st: StateDep, role_id: str) -> dict[str, Any]:
    role = roles.show(st, role_id)
    authorize(ctx, "identity:get_role", _target(role.domain_id))
    return {"role": render_role(request, role)}


@router.patch("/v3/roles/{role_id}")
def update_role(
    request: Request, ctx: ContextDep, st: StateDep, role_id: str, body: RoleUpdateBody
) -> dict[str, Any]:
    authorize(ctx, "identity:update_role", _target(roles.show(st, role_id).domain_id))
    return {
        "role": render_role(request, roles.update(st, role_id, body.role.fields_and_extra(role_id)))
    }


@router.delete("/v3/roles/{role_id}", status_code=204)
def delete_role(ctx: ContextDep, st: StateDep, role_id: str) -> Response:
    authorize(ctx, "identity:delete_role", _target(roles.show(st, role_id).domain_id))
    roles.delete(st, role_id)
    return Response(status_code=204)


def _inference(request: Request, prior: models.Role, implied: list[models.Role]) -> dict[str, Any]:
    return {"prior_role": _ref(request, prior), "implies": [_ref(request, r) for r in implied]}


@router.put("/v3/roles/{prior_role_id}/implies/{implied_role_id}", status_code=201)
def create_implied(
    request: Request, ctx: ContextDep, st: StateDep, prior_role_id: str, implied_role_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:create_implied_role", {})
    prior, implied = roles.create_implied(st, prior_role_id, implied_role_id)
    body = {"prior_role": _ref(request, prior), "implies": _ref(request, implied)}
    path = f"/v3/roles/{prior.id}/implies/{implied.id}"
    return {"role_inference": body, "links": {"self": base_url(request) + path}}


@router.get("/v3/roles/{prior_role_id}/implies/{implied_role_id}")
def get_implied(
    request: Request, ctx: ContextDep, st: StateDep, prior_role_id: str, implied_role_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:get_implied_role", {})
    prior, implied = roles.get_implied(st, prior_role_id, implied_role_id)
    body = {"prior_role": _ref(request, prior), "implies": _ref(request, implied)}
    path = f"/v3/roles/{prior.id}/implies/{implied.id}"
    return {"role_inference": body, "links": {"self": base_url(request) + path}}


@router.head("/v3/roles/{prior_role_id}/implies/{implied_role_id}", status_code=204)
def check_implied(
    ctx: ContextDep, st: StateDep, prior_role_id: str, implied_role_id: str
) -> Response:
    authorize(ctx, "identity:check_implied_role", {})
    roles.get_implied(st, prior_role_id, implied_role_id)
    return Response(status_code=204)


@router.delete("/v3/roles/{prior_role_id}/implies/{implied_role_id}", status_code=204)
def delete_implied(
    ctx: ContextDep, st: StateDep, prior_role_id: str, implied_role_id: str
) -> Response:
    authorize(ctx, "identity:delete_implied_role", {})
    roles.delete_implied(st, prior_role_id, implied_role_id)
    return Response(status_code=204)


@read_route(router, "/v3/roles/{prior_role_id}/implies")
def list_implied(
    request: Request, ctx: ContextDep, st: StateDep, prior_role_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:list_implied_roles", {})
    prior, implied = roles.list_implied(st, prior_role_id)
    path = f"/v3/roles/{prior.id}/implies"
    return {
        "role_inference": _inference(request, prior, implied),
        "links": {"self": base_url(request) + path},
    }


@read_route(router, "/v3/role_inferences")
def list_inferences(request: Request, ctx: ContextDep, st: StateDep) -> dict[str, Any]:
    authorize(ctx, "identity:list_role_inference_rules", {})
    rules = [_inference(request, p, i) for p, i in roles.list_all_implied(st)]
    return {"role_inferences": rules, "links": {"self": str(request.url)}}
