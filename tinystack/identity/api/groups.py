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
from tinystack.identity.services.records import Group


def _target(g: Group) -> dict[str, Any]:
    return {"target": {"group": {"id": g.id, "domain_id": g.domain_id}}, "domain_id": g.domain_id}


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
    items = groups.list_groups(deps, name, domain_id)
    if ctx.domain_id:
        items = [g for g in items if g.domain_id == ctx.domain_id]
    return collection(request, "groups", items, render_group)


def show_group(request: Request, ctx: ContextDep, deps: DepsDep, group_id: str) -> dict[str, Any]:
    group = groups.show(deps, group_id)
    authorize(ctx, "identity:get_group", _target(group))
    return {"group": render_group(request, group)}


def update_group(
    request: Request, ctx: ContextDep, deps: DepsDep, group_id: str, body: GroupUpdateBody
) -> dict[str, Any]:
    authorize(ctx, "identity:update_group", _target(groups.show(deps, group_id)))
    group = groups.update(deps, group_id, body.group.attributes(group_id))
    return {"group": render_group(request, group)}


def delete_group(ctx: ContextDep, deps: DepsDep, group_id: str) -> Response:
    authorize(ctx, "identity:delete_group", _target(groups.show(deps, group_id)))
    groups.delete(deps, group_id)
    return Response(status_code=204)


def list_members(request: Request, ctx: ContextDep, deps: DepsDep, group_id: str) -> dict[str, Any]:
    authorize(ctx, "identity:list_users_in_group", _target(groups.show(deps, group_id)))
    return collection(request, "users", groups.members(deps, group_id), render_user)


def add_member(ctx: ContextDep, deps: DepsDep, group_id: str, user_id: str) -> Response:
    authorize(ctx, "identity:add_user_to_group", _target(groups.show(deps, group_id)))
    groups.add_member(deps, group_id, user_id)
    return Response(status_code=204)


def check_member(ctx: ContextDep, deps: DepsDep, group_id: str, user_id: str) -> Response:
    authorize(ctx, "identity:check_user_in_group", _target(groups.show(deps, group_id)))
    groups.check_member(deps, group_id, user_id)
    return Response(status_code=204)


def remove_member(ctx: ContextDep, deps: DepsDep, group_id: str, user_id: str) -> Response:
    authorize(ctx, "identity:remove_user_from_group", _target(groups.show(deps, group_id)))
    groups.remove_member(deps, group_id, user_id)
    return Response(status_code=204)
