"""``/v3/groups`` and group membership."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.identity.api.deps import DepsDep, authorize, domain_target
from tinystack.identity.api.schemas import GroupBody, GroupUpdateBody
from tinystack.identity.api.views import collection, render_group, render_user
from tinystack.identity.services import groups


def create_group(
    request: Request, ctx: ContextDep, deps: DepsDep, body: GroupBody
) -> dict[str, Any]:
    data = body.group.attributes()
    authorize(
        ctx,
        "identity:create_group",
        {"target": {"group": data}, "domain_id": data.get("domain_id")},
    )
    return {"group": render_group(request, groups.create(deps, data))}


def list_groups(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    name: str | None = None,
    domain_id: str | None = None,
) -> dict[str, Any]:
    # As upstream: the caller's own domain is the target, so a domain-scoped reader may
    # list, and sees only its domain; project-scoped tokens have no domain and are refused.
    authorize(ctx, "identity:list_groups", domain_target(ctx))
    items = groups.list_groups(deps, name, domain_id, within_domain=ctx.domain_id)
    return collection(request, "groups", items, render_group)


def show_group(request: Request, ctx: ContextDep, deps: DepsDep, group_id: str) -> dict[str, Any]:
    return {"group": render_group(request, groups.show(deps, ctx, group_id))}


def update_group(
    request: Request, ctx: ContextDep, deps: DepsDep, group_id: str, body: GroupUpdateBody
) -> dict[str, Any]:
    group = groups.update(deps, ctx, group_id, body.group.attributes(group_id))
    return {"group": render_group(request, group)}


def delete_group(ctx: ContextDep, deps: DepsDep, group_id: str) -> Response:
    groups.delete(deps, ctx, group_id)
    return Response(status_code=204)


def list_members(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    group_id: str,
    password_expires_at: str | None = None,
) -> dict[str, Any]:
    found = groups.members(deps, ctx, group_id, password_expires_at)
    return collection(request, "users", found, render_user)


def add_member(ctx: ContextDep, deps: DepsDep, group_id: str, user_id: str) -> Response:
    groups.add_member(deps, ctx, group_id, user_id)
    return Response(status_code=204)


def check_member(ctx: ContextDep, deps: DepsDep, group_id: str, user_id: str) -> Response:
    groups.check_member(deps, ctx, group_id, user_id)
    return Response(status_code=204)


def remove_member(ctx: ContextDep, deps: DepsDep, group_id: str, user_id: str) -> Response:
    groups.remove_member(deps, ctx, group_id, user_id)
    return Response(status_code=204)
