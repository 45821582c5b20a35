"""The image a volume is created from, as the caller sees it in the image service."""

from __future__ import annotations

import re
from typing import Any

from tinystack.common.clients.session import ClientError
from tinystack.volume import exception
from tinystack.volume.services.deps import Deps
from tinystack.volume.services.volumes import ImageSource

UUID_LIKE = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)
#: image fields copied into a volume's image metadata (besides its custom properties)
CORE = ("checksum", "container_format", "disk_format", "min_disk", "min_ram", "size")
#: image fields that are not properties
NOT_PROPERTIES = {
    "id", "name", "status", "visibility", "protected", "owner", "created_at", "updated_at",
    "tags", "file", "schema", "self", "locations", "direct_url", "virtual_size", "stores",
    "os_hidden", "os_hash_algo", "os_hash_value", "checksum", "container_format",
    "disk_format", "min_disk", "min_ram", "size",
}  # fmt: skip


def _find(deps: Deps, ref: str, token: str | None) -> dict[str, Any]:
    image_id = ref.rstrip("/").split("/")[-1]
    try:
        if UUID_LIKE.match(image_id):
            found = deps.image.get(image_id, token=token)
            if found is not None:
                return found
        named = deps.image.list_images({"name": ref}, token=token, follow=False)
    except ClientError as exc:
        raise exception.Invalid(f"Image service error: {exc}") from None
    if len(named) > 1:
        raise exception.Conflict(
            f"Multiple matches found for '{ref}', use an ID to be more specific."
        )
    if named:
        return named[0]
    raise exception.Invalid("Invalid image identifier or unable to access requested image.")


def resolve(deps: Deps, ref: str, token: str | None) -> ImageSource:
    """The image ``ref`` (an id, a URL ending in one, or a unique name) names."""
    image = _find(deps, ref, token)
    if image.get("status") != "active":
        raise exception.InvalidInput(reason=f"Image {image.get('id')} is not active.")
    properties = {"image_id": str(image["id"]), "image_name": str(image.get("name") or "")}
    for key in CORE:
        if image.get(key) is not None:
            properties[key] = str(image[key])
    for key, value in image.items():
        if key not in NOT_PROPERTIES and isinstance(value, str | int | float | bool):
            properties[key] = str(value)
    return ImageSource(
        id=str(image["id"]),
        size_bytes=int(image.get("size") or 0),
        min_disk=int(image.get("min_disk") or 0),
        disk_format=image.get("disk_format"),
        virtual_size=int(image["virtual_size"]) if image.get("virtual_size") else None,
        properties=properties,
    )
