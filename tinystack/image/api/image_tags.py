"""``/v2/images/{image_id}/tags/{tag}``: add and remove one tag (handlers only)."""

from __future__ import annotations

from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.image.api.deps import DepsDep
from tinystack.image.services import image_tags


def add_tag(image_id: str, tag: str, ctx: ContextDep, deps: DepsDep) -> Response:
    image_tags.add(deps, ctx, image_id, tag)
    return Response(status_code=204)


def delete_tag(image_id: str, tag: str, ctx: ContextDep, deps: DepsDep) -> Response:
    image_tags.delete(deps, ctx, image_id, tag)
    return Response(status_code=204)
