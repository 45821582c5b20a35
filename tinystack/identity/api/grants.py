"""Role grants: ``/v3/{projects|domains}/{id}/{users|groups}/{id}/roles[/{role_id}]`` and system."""

from __future__ import annotations

from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.identity.api.deps import DepsDep, authorize
from tinystack.identity.api.views import collection, render_role
from tinystack.identity.services import grants
from tinystack.identity.services.grants import SYSTEM, Grant

Target = Literal["projects", "domains"]
Actor = Literal["users", "groups"]


def _system_grant(actor: str, actor_id: str, role_id: str) -> Grant:
    return Grant(actor.rstrip("s"), actor_id, "system", SYSTEM, role_id)


def _grant(
    target: str, target_id: str, actor: str, actor_id: str, role_id: str, inherited: bool
) -> Grant:
    return Grant(actor.rstrip("s"), actor_id, target.rstrip("s"), target_id, role_id, inherited)


def create_grant(
    ctx: ContextDep,
    deps: DepsDep,
    target: Target,
    target_id: str,
    actor: Actor,
    actor_id: str,
    role_id: str,
) -> Response:
    grants.create_grant(deps, ctx, _grant(target, target_id, actor, actor_id, role_id, False))
    return Response(status_code=204)


def check_grant(
    ctx: ContextDep,
    deps: DepsDep,
    target: Target,
    target_id: str,
    actor: Actor,
    actor_id: str,
    role_id: str,
) -> Response:
    grants.check_grant(deps, ctx, _grant(target, target_id, actor, actor_id, role_id, False))
    return Response(status_code=204)


def revoke_grant(
    ctx: ContextDep,
    deps: DepsDep,
    target: Target,
    target_id: str,
    actor: Actor,
    actor_id: str,
    role_id: str,
) -> Response:
    grants.delete_grant(deps, ctx, _grant(target, target_id, actor, actor_id, role_id, False))
    return Response(status_code=204)


def list_grants(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    target: Target,
    target_id: str,
    actor: Actor,
    actor_id: str,
) -> dict[str, Any]:
    items = grants.list_grants(
        deps, ctx, actor.rstrip("s"), actor_id, target.rstrip("s"), target_id, False
    )
    return collection(request, "roles", items, render_role)


def create_inherited_grant(
    ctx: ContextDep,
    deps: DepsDep,
    target: Target,
    target_id: str,
    actor: Actor,
    actor_id: str,
    role_id: str,
) -> Response:
    grants.create_grant(deps, ctx, _grant(target, target_id, actor, actor_id, role_id, True))
    return Response(status_code=204)


def check_inherited_grant(
    ctx: ContextDep,
    deps: DepsDep,
    target: Target,
    target_id: str,
    actor: Actor,
    actor_id: str,
    role_id: str,
) -> Response:
    grants.check_grant(deps, ctx, _grant(target, target_id, actor, actor_id, role_id, True))
    return Response(status_code=204)


def revoke_inherited_grant(
    ctx: ContextDep,
    deps: DepsDep,
    target: Target,
    target_id: str,
    actor: Actor,
    actor_id: str,
    role_id: str,
) -> Response:
    grants.delete_grant(deps, ctx, _grant(target, target_id, actor, actor_id, role_id, True))
    return Response(status_code=204)


def list_inherited_grants(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    target: Target,
    target_id: str,
    actor: Actor,
    actor_id: str,
) -> dict[str, Any]:
    items = grants.list_grants(
        deps, ctx, actor.rstrip("s"), actor_id, target.rstrip("s"), target_id, True
    )
    return collection(request, "roles", items, render_role)


def create_system_grant(
    ctx: ContextDep, deps: DepsDep, actor: Actor, actor_id: str, role_id: str
) -> Response:
    authorize(ctx, f"identity:create_system_grant_for_{actor.rstrip('s')}", {})
    grants.create_system_grant(deps, Grant(actor.rstrip("s"), actor_id, "system", SYSTEM, role_id))
    return Response(status_code=204)


def check_system_grant(
    ctx: ContextDep, deps: DepsDep, actor: Actor, actor_id: str, role_id: str
) -> Response:
    authorize(ctx, f"identity:check_system_grant_for_{actor.rstrip('s')}", {})
    grants.check_system_grant(deps, Grant(actor.rstrip("s"), actor_id, "system", SYSTEM, role_id))
    return Response(status_code=204)


def revoke_system_grant(
    ctx: ContextDep, deps: DepsDep, actor: Actor, actor_id: str, role_id: str
) -> Response:
    authorize(ctx, f"identity:revoke_system_grant_for_{actor.rstrip('s')}", {})
    grants.delete_system_grant(deps, Grant(actor.rstrip("s"), actor_id, "system", SYSTEM, role_id))
    return Response(status_code=204)


def list_system_grants(
    request: Request, ctx: ContextDep, deps: DepsDep, actor: Actor, actor_id: str
) -> dict[str, Any]:
    authorize(ctx, f"identity:list_system_grants_for_{actor.rstrip('s')}", {})
    items = grants.list_system_grants(deps, actor.rstrip("s"), actor_id)
    return collection(request, "roles", items, render_role)
