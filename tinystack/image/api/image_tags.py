"""``/v2/images/{image_id}/tags/{tag}``: add and remove one tag."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.image.api.common import ImagesDep

router = APIRouter(tags=["image tags"])


@router.put("/v2/images/{image_id}/tags/{tag}", status_code=204)
def add_tag(image_id: str, tag: str, ctx: ContextDep, images: ImagesDep) -> Response:
    images.add_tag(ctx, image_id, tag)
    return Response(status_code=204)


@router.delete("/v2/images/{image_id}/tags/{tag}", status_code=204)
def delete_tag(image_id: str, tag: str, ctx: ContextDep, images: ImagesDep) -> Response:
    images.delete_tag(ctx, image_id, tag)
    return Response(status_code=204)
