"""``/v2/cache``: the node's image cache (API 2.14; handlers only)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.image.api.deps import DepsDep
from tinystack.image.services import image_cache


def cache_state(ctx: ContextDep, deps: DepsDep) -> Response:
    current = image_cache.state(deps, ctx)
    cached = [
        {
            "image_id": c.image_id,
            "hits": c.hits,
            "last_accessed": c.last_accessed,
            "last_modified": c.last_modified,
            "size": c.size,
        }
        for c in current.cached
    ]
    return JSONResponse({"cached_images": cached, "queued_images": current.queued})


def queue_image(image_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    image_cache.queue(deps, ctx, image_id)
    return Response(status_code=202)


def delete_cache_entry(image_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    image_cache.delete_entry(deps, ctx, image_id)
    return Response(status_code=204)


def clear_cache(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    target = request.headers.get("x-image-cache-clear-target", "").strip().lower()
    image_cache.clear(deps, ctx, target)
    return Response(status_code=204)
