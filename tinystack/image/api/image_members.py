"""``/v2/images/{image_id}/members``: share an image with other projects."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.image.api.common import JsonBody, MembersDep, render_member

router = APIRouter(tags=["image members"])


@router.get("/v2/images/{image_id}/members")
def list_members(image_id: str, ctx: ContextDep, members: MembersDep) -> Response:
    records = members.list(ctx, image_id)
    return JSONResponse(
        {"members": [render_member(m) for m in records], "schema": "/v2/schemas/members"}
    )


@router.post("/v2/images/{image_id}/members")
def create_member(image_id: str, ctx: ContextDep, members: MembersDep, body: JsonBody) -> Response:
    return JSONResponse(render_member(members.create(ctx, image_id, body)))


@router.get("/v2/images/{image_id}/members/{member_id}")
def show_member(image_id: str, member_id: str, ctx: ContextDep, members: MembersDep) -> Response:
    return JSONResponse(render_member(members.show(ctx, image_id, member_id)))


@router.put("/v2/images/{image_id}/members/{member_id}")
def update_member(
    image_id: str, member_id: str, ctx: ContextDep, members: MembersDep, body: JsonBody
) -> Response:
    return JSONResponse(render_member(members.update(ctx, image_id, member_id, body)))


@router.delete("/v2/images/{image_id}/members/{member_id}", status_code=204)
def delete_member(image_id: str, member_id: str, ctx: ContextDep, members: MembersDep) -> Response:
    members.delete(ctx, image_id, member_id)
    return Response(status_code=204)
