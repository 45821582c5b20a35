"""Cache rules: ``/v2/cache`` (the node-local image cache, API 2.14)."""

from __future__ import annotations

from tinystack.image.policies.base import ADMIN, rule

CACHE_IMAGE = "cache_image"
CACHE_LIST = "cache_list"
CACHE_DELETE = "cache_delete"
MANAGE_IMAGE_CACHE = "manage_image_cache"

RULES = [
    rule(CACHE_IMAGE, ADMIN, "Queue an image for caching.", "PUT", "/v2/cache/{image_id}"),
    rule(CACHE_LIST, ADMIN, "List cached and queued images.", "GET", "/v2/cache"),
    rule(CACHE_DELETE, ADMIN, "Remove images from the cache or queue.", "DELETE", "/v2/cache"),
    rule(MANAGE_IMAGE_CACHE, ADMIN, "Manage the image cache (legacy rule).", "GET", "/v2/cache"),
]
