"""``/v3/groups`` and group membership."""

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
    collection,
    domain_target,
    link,
    read_route,
)
from tinystack.identity.core import users

router = APIRouter(tags=["groups"])


class GroupCreate(Open):
    name: Name
    domain_id: Id | None = None
    description: str | None = None


class GroupUpdate(Open):
    NOT_NULL = ("name",)

    name: Name | None = None
    domain_id: Id | None = None
    description: str | None = None


class GroupBody(Strict):
    group: GroupCreate


class GroupUpdateBody(Strict):
    group: GroupUpdate


def render_group(request: Request, g: models.Group) -> dict[str, Any]:
    return {
        **g.extra,
        "id": g.id,
        "name": g.name,
        "domain_id": g.domain_id,
        "description": g.description or "",
        "links": link(request, f"/v3/groups/{g.id}"),
    }


def _target(g: models.Group) -> dict[str, Any]:
    return {"target": {"group": {"id": g.id, "domain_id": g.domain_id}}, "domain_id": g.domain_id}


@router.post("/v3/groups", status_code=201)
def create_group(
    request: Request, ctx: ContextDep, st: StateDep, body: GroupBody
) -> dict[str, Any]:
    data = body.group.fields_and_extra()
    authorize(
        ctx,
        "identity:create_group",
        {"target": {"group": data}, "domain_id": data.get("domain_id")},
    )
    return {"group": render_group(request, users.create_group(st, data))}


@read_route(router, "/v3/groups")
def list_groups(
    request: Request,
    ctx: ContextDep,
    st: StateDep,
    name: str | None = None,
    domain_id: str | None = None,
) -> dict[str, Any]:
    # As upstream: the caller's own domain is the target, so a domain-scoped reader may
    # list, and sees only its domain; project-scoped tokens have no domain and are refused.
    authorize(ctx, "identity:list_groups", domain_target(ctx))
    items = users.list_groups(st, {"name": name, "domain_id": domain_id})
    if ctx.domain_id:
        items = [g for g in items if g.domain_id == ctx.domain_id]
    return collection(request, "groups", items, render_group)


@read_route(router, "/v3/groups/{group_id}")
def show_group(request: Request, ctx: ContextDep, st: StateDep, group_id: str) -> dict[str, Any]:
    group = users.show_group(st, group_id)
    authorize(ctx, "identity:get_group", _target(group))
    return {"group": render_group(request, group)}


@router.patch("/v3/groups/{group_id}")
def update_group(
    request: Request, ctx: ContextDep, st: StateDep, group_id: str, body: GroupUpdateBody
) -> dict[str, Any]:
    authorize(ctx, "identity:update_group", _target(users.show_group(st, group_id)))
    group = users.update_group(st, group_id, body.group.fields_and_extra(group_id))
    return {"group": render_group(request, group)}


@router.delete("/v3/groups/{group_id}", status_code=204)
def delete_group(ctx: ContextDep, st: StateDep, group_id: str) -> Response:
    authorize(ctx, "identity:delete_group", _target(users.show_group(st, group_id)))
    users.delete_group(st, group_id)
    return Response(status_code=204)


@read_route(router, "/v3/groups/{group_id}/users")
def list_members(request: Request, ctx: ContextDep, st: StateDep, group_id: str) -> dict[str, Any]:
    from tinystack.identity.api.users import render_user

    authorize(ctx, "identity:list_users_in_group", _target(users.show_group(st, group_id)))
    return collection(request, "users", users.group_users(st, group_id), render_user)


@router.put("/v3/groups/{group_id}/users/{user_id}", status_code=204)
def add_member(ctx: ContextDep, st: StateDep, group_id: str, user_id: str) -> Response:
    authorize(ctx, "identity:add_user_to_group", _target(users.show_group(st, group_id)))
    users.add_member(st, group_id, user_id)
    return Response(status_code=204)


@read_route(router, "/v3/groups/{group_id}/users/{user_id}", status_code=204)
def check_member(ctx: ContextDep, st: StateDep, group_id: str, user_id: str) -> Response:
    authorize(ctx, "identity:check_user_in_group", _target(users.show_group(st, group_id)))
    users.check_member(st, group_id, user_id)
    return Response(status_code=204)


@router.delete("/v3/groups/{group_id}/users/{user_id}", status_code=204)
def remove_member(ctx: ContextDep, st: StateDep, group_id: str, user_id: str) -> Response:
    authorize(ctx, "identity:remove_user_from_group", _target(users.show_group(st, group_id)))
    users.remove_member(st, group_id, user_id)
    return Response(status_code=204)
