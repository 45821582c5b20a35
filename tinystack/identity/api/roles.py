"""``/v3/roles``, implied roles and ``/v3/role_inferences``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.identity.api.deps import DepsDep, authorize
from tinystack.identity.api.schemas import RoleBody, RoleUpdateBody
from tinystack.identity.api.views import (
    base_url,
    collection,
    render_inference,
    render_role,
    role_ref,
)
from tinystack.identity.services import roles
from tinystack.identity.services.access import role_target


def create_role(request: Request, ctx: ContextDep, deps: DepsDep, body: RoleBody) -> dict[str, Any]:
    data = body.role.attributes()
    authorize(ctx, "identity:create_role", role_target(data.get("domain_id")))
    return {"role": render_role(request, roles.create(deps, data))}


def list_roles(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    name: str | None = None,
    domain_id: str | None = None,
) -> dict[str, Any]:
    authorize(ctx, "identity:list_roles", role_target(domain_id))
    return collection(request, "roles", roles.list_roles(deps, name, domain_id), render_role)


def show_role(request: Request, ctx: ContextDep, deps: DepsDep, role_id: str) -> dict[str, Any]:
    return {"role": render_role(request, roles.show(deps, ctx, role_id))}


def update_role(
    request: Request, ctx: ContextDep, deps: DepsDep, role_id: str, body: RoleUpdateBody
) -> dict[str, Any]:
    role = roles.update(deps, ctx, role_id, body.role.attributes(role_id))
    return {"role": render_role(request, role)}


def delete_role(ctx: ContextDep, deps: DepsDep, role_id: str) -> Response:
    roles.delete(deps, ctx, role_id)
    return Response(status_code=204)


def create_implied(
    request: Request, ctx: ContextDep, deps: DepsDep, prior_role_id: str, implied_role_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:create_implied_role", {})
    prior, implied = roles.create_implied(deps, prior_role_id, implied_role_id)
    body = {"prior_role": role_ref(request, prior), "implies": role_ref(request, implied)}
    path = f"/v3/roles/{prior.id}/implies/{implied.id}"
    return {"role_inference": body, "links": {"self": base_url(request) + path}}


def get_implied(
    request: Request, ctx: ContextDep, deps: DepsDep, prior_role_id: str, implied_role_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:get_implied_role", {})
    prior, implied = roles.get_implied(deps, prior_role_id, implied_role_id)
    body = {"prior_role": role_ref(request, prior), "implies": role_ref(request, implied)}
    path = f"/v3/roles/{prior.id}/implies/{implied.id}"
    return {"role_inference": body, "links": {"self": base_url(request) + path}}


def check_implied(
    ctx: ContextDep, deps: DepsDep, prior_role_id: str, implied_role_id: str
) -> Response:
    authorize(ctx, "identity:check_implied_role", {})
    roles.get_implied(deps, prior_role_id, implied_role_id)
    return Response(status_code=204)


def delete_implied(
    ctx: ContextDep, deps: DepsDep, prior_role_id: str, implied_role_id: str
) -> Response:
    authorize(ctx, "identity:delete_implied_role", {})
    roles.delete_implied(deps, prior_role_id, implied_role_id)
    return Response(status_code=204)


def list_implied(
    request: Request, ctx: ContextDep, deps: DepsDep, prior_role_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:list_implied_roles", {})
    inference = roles.list_implied(deps, prior_role_id)
    path = f"/v3/roles/{inference.prior.id}/implies"
    return {
        "role_inference": render_inference(request, inference),
        "links": {"self": base_url(request) + path},
    }


def list_inferences(request: Request, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    authorize(ctx, "identity:list_role_inference_rules", {})
    rules = [render_inference(request, i) for i in roles.list_all_implied(deps)]
    return {"role_inferences": rules, "links": {"self": str(request.url)}}
