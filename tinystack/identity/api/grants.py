"""Role grants: ``/v3/{projects|domains}/{id}/{users|groups}/{id}/roles[/{role_id}]`` and system."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.identity.api.deps import DepsDep, authorize, read_route
from tinystack.identity.api.views import collection, render_role
from tinystack.identity.services import assignments, projects
from tinystack.identity.services.assignments import SYSTEM, Grant

router = APIRouter(tags=["grants"])
Target = Literal["projects", "domains"]
Actor = Literal["users", "groups"]
INHERIT = "/v3/OS-INHERIT"


def _policy_target(deps: DepsDep, target: str, target_id: str) -> dict[str, Any]:
    if target == "domains":
        return {"target": {"domain": {"id": target_id}}, "domain_id": target_id}
    domain_id = projects.domain_of(deps, target_id)
    return {
        "target": {"project": {"id": target_id, "domain_id": domain_id}},
        "domain_id": domain_id,
    }


def _grant(
    target: str, target_id: str, actor: str, actor_id: str, role_id: str, inherited: bool = False
) -> Grant:
    return Grant(actor.rstrip("s"), actor_id, target.rstrip("s"), target_id, role_id, inherited)


def _routes(prefix: str, inherited: bool) -> None:
    path = prefix + "/{target}/{target_id}/{actor}/{actor_id}/roles"
    suffix = "/inherited_to_projects" if inherited else ""

    @router.put(path + "/{role_id}" + suffix, status_code=204)
    def create_grant(
        ctx: ContextDep,
        deps: DepsDep,
        target: Target,
        target_id: str,
        actor: Actor,
        actor_id: str,
        role_id: str,
    ) -> Response:
        authorize(ctx, "identity:create_grant", _policy_target(deps, target, target_id))
        assignments.create_grant(
            deps, _grant(target, target_id, actor, actor_id, role_id, inherited)
        )
        return Response(status_code=204)

    @read_route(router, path + "/{role_id}" + suffix, status_code=204)
    def check_grant(
        ctx: ContextDep,
        deps: DepsDep,
        target: Target,
        target_id: str,
        actor: Actor,
        actor_id: str,
        role_id: str,
    ) -> Response:
        authorize(ctx, "identity:check_grant", _policy_target(deps, target, target_id))
        assignments.check_grant(
            deps, _grant(target, target_id, actor, actor_id, role_id, inherited)
        )
        return Response(status_code=204)

    @router.delete(path + "/{role_id}" + suffix, status_code=204)
    def revoke_grant(
        ctx: ContextDep,
        deps: DepsDep,
        target: Target,
        target_id: str,
        actor: Actor,
        actor_id: str,
        role_id: str,
    ) -> Response:
        authorize(ctx, "identity:revoke_grant", _policy_target(deps, target, target_id))
        assignments.delete_grant(
            deps, _grant(target, target_id, actor, actor_id, role_id, inherited)
        )
        return Response(status_code=204)

    @read_route(router, path + suffix)
    def list_grants(
        request: Request,
        ctx: ContextDep,
        deps: DepsDep,
        target: Target,
        target_id: str,
        actor: Actor,
        actor_id: str,
    ) -> dict[str, Any]:
        authorize(ctx, "identity:list_grants", _policy_target(deps, target, target_id))
        items = assignments.list_grants(
            deps, actor.rstrip("s"), actor_id, target.rstrip("s"), target_id, inherited
        )
        return collection(request, "roles", items, render_role)


_routes("/v3", False)
_routes(INHERIT, True)


@router.put("/v3/system/{actor}/{actor_id}/roles/{role_id}", status_code=204)
def create_system_grant(
    ctx: ContextDep, deps: DepsDep, actor: Actor, actor_id: str, role_id: str
) -> Response:
    authorize(ctx, f"identity:create_system_grant_for_{actor.rstrip('s')}", {})
    assignments.create_grant(deps, Grant(actor.rstrip("s"), actor_id, "system", SYSTEM, role_id))
    return Response(status_code=204)


@read_route(router, "/v3/system/{actor}/{actor_id}/roles/{role_id}", status_code=204)
def check_system_grant(
    ctx: ContextDep, deps: DepsDep, actor: Actor, actor_id: str, role_id: str
) -> Response:
    authorize(ctx, f"identity:check_system_grant_for_{actor.rstrip('s')}", {})
    assignments.check_grant(deps, Grant(actor.rstrip("s"), actor_id, "system", SYSTEM, role_id))
    return Response(status_code=204)


@router.delete("/v3/system/{actor}/{actor_id}/roles/{role_id}", status_code=204)
def revoke_system_grant(
    ctx: ContextDep, deps: DepsDep, actor: Actor, actor_id: str, role_id: str
) -> Response:
    authorize(ctx, f"identity:revoke_system_grant_for_{actor.rstrip('s')}", {})
    assignments.delete_grant(deps, Grant(actor.rstrip("s"), actor_id, "system", SYSTEM, role_id))
    return Response(status_code=204)


@read_route(router, "/v3/system/{actor}/{actor_id}/roles")
def list_system_grants(
    request: Request, ctx: ContextDep, deps: DepsDep, actor: Actor, actor_id: str
) -> dict[str, Any]:
    authorize(ctx, f"identity:list_system_grants_for_{actor.rstrip('s')}", {})
    items = assignments.list_grants(deps, actor.rstrip("s"), actor_id, "system", SYSTEM, False)
    return collection(request, "roles", items, render_role)
