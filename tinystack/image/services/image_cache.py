"""The cache API (``/v2/cache``, 2.14): what the node caches and queues, queueing, removal.

404 "Caching via API is not supported at this site." when the node has no cache
(``image_cache_dir`` unset), as upstream. Rules: ``cache_list``, ``cache_image``,
``cache_delete`` (admin by default).
"""

from __future__ import annotations

from dataclasses import dataclass

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.image.policies import cache as cache_rules
from tinystack.image.services import _access
from tinystack.image.services.cache import CachedImage, ImageCache
from tinystack.image.services.deps import Deps


@dataclass(frozen=True, slots=True)
class CacheState:
    cached: list[CachedImage]
    queued: list[str]


def _cache(deps: Deps) -> ImageCache:
    if deps.cache is None:
        raise NotFound("Caching via API is not supported at this site.")
    return deps.cache


def state(deps: Deps, ctx: RequestContext) -> CacheState:
    cache = _cache(deps)
    ctx.can(cache_rules.CACHE_LIST, {"project_id": ctx.project_id})
    return CacheState(cache.cached_images(), cache.queued_images())


def queue(deps: Deps, ctx: RequestContext, image_id: str) -> None:
    cache = _cache(deps)
    with deps.db.reader() as session:
        try:
            image = _access.load(session, ctx, image_id)
        except NotFound:
            raise NotFound(f"Image {image_id} not found.") from None
        _access.authorize(ctx, cache_rules.CACHE_IMAGE, image)
        status = image.status
    if status != "active":
        raise BadRequest("Only images with status active can be targeted for queueing")
    cache.queue(image_id)


def delete_entry(deps: Deps, ctx: RequestContext, image_id: str) -> None:
    cache = _cache(deps)
    with deps.db.reader() as session:
        image = _access.get_row(session, image_id)
        if image is None or not _access.is_visible(session, ctx, image):
            if not cache.is_cached(image_id) and image_id not in cache.queued_images():
                raise NotFound(f"Image {image_id} not found.")
            ctx.can(cache_rules.CACHE_DELETE, {"project_id": ctx.project_id})
        else:
            _access.authorize(ctx, cache_rules.CACHE_DELETE, image)
    cache.delete(image_id)
    cache.dequeue(image_id)


def clear(deps: Deps, ctx: RequestContext, target: str) -> dict[str, int]:
    cache = _cache(deps)
    ctx.can(cache_rules.CACHE_DELETE, {"project_id": ctx.project_id})
    if target not in ("", "cache", "queue"):
        raise BadRequest(
            "If provided 'x-image-cache-clear-target' must be 'cache', 'queue' or empty string."
        )
    result = {}
    if target in ("", "cache"):
        result["cache_deleted"] = cache.clear_cache()
    if target in ("", "queue"):
        result["queue_deleted"] = cache.clear_queue()
    return result
