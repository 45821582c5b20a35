"""Handlers of /v2/lbaas/pools/{pool_id}/members."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.load_balancer.api import schemas, views
from tinystack.load_balancer.api.deps import DepsDep, QueryDep
from tinystack.load_balancer.services import members


def list_(pool_id: str, ctx: ContextDep, deps: DepsDep, query: QueryDep) -> dict[str, Any]:
    found = members.list_(deps, ctx, pool_id, query.page)
    return {
        "members": [views.only(views.member(r), query.fields) for r in found],
        "members_links": [],
    }


def create(
    pool_id: str, body: schemas.MemberCreateBody, ctx: ContextDep, deps: DepsDep
) -> dict[str, Any]:
    return {"member": views.member(members.create(deps, ctx, pool_id, body.member))}


def batch_update(
    pool_id: str,
    body: schemas.MembersBatchBody,
    ctx: ContextDep,
    deps: DepsDep,
    additive_only: bool = False,
) -> Response:
    members.batch_update(deps, ctx, pool_id, body.members, additive_only)
    return Response(status_code=202)


def show(pool_id: str, member_id: str, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    return {"member": views.member(members.get(deps, ctx, pool_id, member_id))}


def update(
    pool_id: str, member_id: str, body: schemas.MemberUpdateBody, ctx: ContextDep, deps: DepsDep
) -> dict[str, Any]:
    return {"member": views.member(members.update(deps, ctx, pool_id, member_id, body.member))}


def delete(pool_id: str, member_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    members.delete(deps, ctx, pool_id, member_id)
    return Response(status_code=204)
