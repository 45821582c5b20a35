"""``/v3/users``: users, their password, projects and groups."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.identity.api.deps import DepsDep, authorize, domain_target
from tinystack.identity.api.schemas import PasswordBody, UserBody, UserUpdateBody
from tinystack.identity.api.views import collection, render_group, render_project, render_user
from tinystack.identity.services import users


def create_user(request: Request, ctx: ContextDep, deps: DepsDep, body: UserBody) -> dict[str, Any]:
    data = body.user.attributes()
    authorize(
        ctx,
        "identity:create_user",
        {
            "target": {"user": {"domain_id": data.get("domain_id")}},
            "domain_id": data.get("domain_id"),
        },
    )
    return {"user": render_user(request, users.create(deps, data))}


def list_users(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    name: str | None = None,
    domain_id: str | None = None,
    enabled: bool | None = None,
    password_expires_at: str | None = None,
) -> dict[str, Any]:
    # As upstream: the caller's own domain is the target, so a domain-scoped reader may
    # list, and sees only its domain; project-scoped tokens have no domain and are refused.
    authorize(ctx, "identity:list_users", domain_target(ctx))
    items = users.list_users(
        deps,
        name,
        domain_id,
        enabled,
        within_domain=ctx.domain_id,
        password_expires_at=password_expires_at,
    )
    return collection(request, "users", items, render_user)


def show_user(request: Request, ctx: ContextDep, deps: DepsDep, user_id: str) -> dict[str, Any]:
    return {"user": render_user(request, users.show(deps, ctx, user_id))}


def update_user(
    request: Request, ctx: ContextDep, deps: DepsDep, user_id: str, body: UserUpdateBody
) -> dict[str, Any]:
    user = users.update(deps, ctx, user_id, body.user.attributes(user_id))
    return {"user": render_user(request, user)}


def delete_user(ctx: ContextDep, deps: DepsDep, user_id: str) -> Response:
    users.delete(deps, ctx, user_id)
    return Response(status_code=204)


def change_password(deps: DepsDep, user_id: str, body: PasswordBody) -> Response:
    # Unauthenticated, as upstream: the original password is the credential, and a user
    # whose password expired can get no token to change it with.
    users.change_password(deps, user_id, body.user.original_password, body.user.password)
    return Response(status_code=204)


def user_projects(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    user_id: str,
    enabled: bool | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    items = users.projects(deps, ctx, user_id, enabled, name)
    return collection(request, "projects", items, render_project)


def user_groups(request: Request, ctx: ContextDep, deps: DepsDep, user_id: str) -> dict[str, Any]:
    return collection(request, "groups", users.groups(deps, ctx, user_id), render_group)
