"""The image proxy API's service side (``/images``, before 2.36): images as the caller sees
them in the image service (with the caller's token, so the image service's policy decides),
and their properties (Nova's image "metadata")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tinystack.common.clients.session import ClientError
from tinystack.common.exceptions import BadRequest, Forbidden, NotFound
from tinystack.common.rpc.context import CallContext
from tinystack.compute.services.deps import Deps

#: glance v2 attributes that are not image "properties"
CORE = frozenset(
    {
        "id", "name", "status", "visibility", "protected", "checksum", "owner", "size",
        "virtual_size", "container_format", "disk_format", "created_at", "updated_at",
        "tags", "direct_url", "min_ram", "min_disk", "self", "file", "schema", "locations",
        "os_hash_algo", "os_hash_value", "os_hidden", "stores", "deleted", "deleted_at",
        "is_public",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ImageRecord:
    id: str
    name: str | None
    #: the image service's status (queued, saving, active, ...)
    status: str
    min_ram: int
    min_disk: int
    size: int | None
    #: as the image service renders them
    created_at: str | None
    updated_at: str | None
    #: the attributes that are not the image service's own (Nova's image metadata)
    properties: dict[str, Any]
    #: the image in the image service's API (None: this cloud has no image service)
    glance_href: str | None


def _properties(image: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in image.items() if k not in CORE}


def _glance(deps: Deps) -> str | None:
    if not deps.image.available():
        return None
    return str(deps.session.endpoint("image")).rstrip("/")


def _record(image: dict[str, Any], glance: str | None) -> ImageRecord:
    return ImageRecord(
        id=image["id"],
        name=image.get("name"),
        status=str(image.get("status")),
        min_ram=int(image.get("min_ram") or 0),
        min_disk=int(image.get("min_disk") or 0),
        size=image.get("size"),
        created_at=image.get("created_at"),
        updated_at=image.get("updated_at"),
        properties=_properties(image),
        glance_href=f"{glance}/images/{image['id']}" if glance else None,
    )


def _load(deps: Deps, ctx: CallContext, image_id: str) -> dict[str, Any]:
    if not deps.image.available():
        raise NotFound("Image not found.")
    try:
        image = deps.image.get(image_id, token=ctx.token)
    except ClientError as exc:
        if exc.status == 403:
            raise Forbidden(exc.message) from exc
        if exc.status in (400, 404):
            raise NotFound("Image not found.") from exc
        raise
    if image is None:
        raise NotFound("Image not found.")
    return image


def get(deps: Deps, ctx: CallContext, image_id: str) -> ImageRecord:
    return _record(_load(deps, ctx, image_id), _glance(deps))


def list_images(
    deps: Deps,
    ctx: CallContext,
    filters: dict[str, str],
    *,
    limit: int,
    min_ram: int | None = None,
    min_disk: int | None = None,
) -> list[ImageRecord]:
    """One page of the images ``filters`` select (image service filters and marker)."""
    images: list[dict[str, Any]] = []
    if deps.image.available():
        try:
            images = deps.image.list_images(
                filters, token=ctx.token, limit=limit or 1, follow=False
            )
        except ClientError as exc:
            raise BadRequest(exc.message) from exc
    minimum = {"min_ram": min_ram, "min_disk": min_disk}
    glance = _glance(deps)
    return [
        _record(image, glance)
        for image in images
        if all(int(image.get(k) or 0) >= v for k, v in minimum.items() if v is not None)
    ][:limit]


def location(deps: Deps, image_id: str) -> str | None:
    """Where the image service serves ``image_id`` (None: this cloud has no image service)."""
    if not deps.image.available():
        return None
    return f"{deps.session.endpoint('image')}/v2/images/{image_id}"


def delete(deps: Deps, ctx: CallContext, image_id: str) -> None:
    if not deps.image.available():
        raise NotFound("Image not found.")
    try:
        found = deps.image.delete(image_id, token=ctx.token)
    except ClientError as exc:
        if exc.status == 403:
            raise Forbidden("You are not allowed to delete the image.") from exc
        if exc.status == 400:
            raise NotFound("Image not found.") from exc
        raise
    if not found:
        raise NotFound("Image not found.")


def _save(
    deps: Deps, ctx: CallContext, image: dict[str, Any], wanted: dict[str, Any]
) -> dict[str, Any]:
    """Make the image's properties exactly ``wanted``."""
    allowed = int(deps.opts.quota_metadata_items)
    if 0 <= allowed < len(wanted):
        raise Forbidden("Image metadata limit exceeded")
    current = _properties(image)
    changes: list[dict[str, Any]] = [
        {"op": "remove", "path": f"/{_pointer(key)}"} for key in current if key not in wanted
    ]
    changes.extend(
        {"op": "add", "path": f"/{_pointer(key)}", "value": value}
        for key, value in wanted.items()
        if current.get(key) != value
    )
    if not changes:
        return image
    try:
        return deps.image.update(image["id"], changes, token=ctx.token)
    except ClientError as exc:
        if exc.status == 403:
            raise Forbidden(exc.message) from exc
        if exc.status == 404:
            raise NotFound("Image not found.") from exc
        raise BadRequest(exc.message) from exc


def _pointer(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def merge_properties(
    deps: Deps, ctx: CallContext, image_id: str, items: dict[str, str]
) -> ImageRecord:
    """Add or change ``items``; the image after."""
    image = _load(deps, ctx, image_id)
    return _record(_save(deps, ctx, image, {**_properties(image), **items}), _glance(deps))


def replace_properties(deps: Deps, ctx: CallContext, image_id: str, items: dict[str, str]) -> None:
    """Make the image's properties exactly ``items``."""
    _save(deps, ctx, _load(deps, ctx, image_id), items)


def set_property(deps: Deps, ctx: CallContext, image_id: str, key: str, value: str) -> None:
    image = _load(deps, ctx, image_id)
    _save(deps, ctx, image, {**_properties(image), key: value})


def delete_property(deps: Deps, ctx: CallContext, image_id: str, key: str) -> None:
    image = _load(deps, ctx, image_id)
    props = _properties(image)
    if key not in props:
        raise NotFound("Invalid metadata key")
    del props[key]
    _save(deps, ctx, image, props)
