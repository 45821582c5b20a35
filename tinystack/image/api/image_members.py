"""``/v2/images/{image_id}/members``: share an image with other projects (handlers only)."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.image.api.deps import DepsDep, MemberCreateBody, MemberUpdateBody
from tinystack.image.api.views import render_member
from tinystack.image.services import image_members


def list_members(image_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    records = image_members.list_members(deps, ctx, image_id)
    return JSONResponse(
        {"members": [render_member(m) for m in records], "schema": "/v2/schemas/members"}
    )


def create_member(
    image_id: str, ctx: ContextDep, deps: DepsDep, member_id: MemberCreateBody
) -> Response:
    return JSONResponse(render_member(image_members.create(deps, ctx, image_id, member_id)))


def show_member(image_id: str, member_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    return JSONResponse(render_member(image_members.show(deps, ctx, image_id, member_id)))


def update_member(
    image_id: str, member_id: str, ctx: ContextDep, deps: DepsDep, status: MemberUpdateBody
) -> Response:
    record = image_members.update(deps, ctx, image_id, member_id, status)
    return JSONResponse(render_member(record))


def delete_member(image_id: str, member_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    image_members.delete(deps, ctx, image_id, member_id)
    return Response(status_code=204)
