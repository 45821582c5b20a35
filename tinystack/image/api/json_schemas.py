"""``/v2/schemas/image(s)`` and ``/v2/schemas/member(s)``: the JSON schemas clients read.

openstacksdk and the CLI use these to tell base attributes from free-form
properties, so the property list matches upstream Glance's. (The pydantic
request models of the OpenAPI document are in :mod:`tinystack.image.api.schemas`.)
Handlers only; routes are in :mod:`tinystack.image.api.router`.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.image.api.deps import DepsDep
from tinystack.image.services.image_attributes import STATUSES, UUID_RE, VISIBILITIES, Formats


def _prop(kind: str | list[str], description: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "description": description, **extra}


def _readonly(kind: str | list[str], description: str, **extra: Any) -> dict[str, Any]:
    return _prop(kind, description, readOnly=True, **extra)


def image_properties(formats: Formats) -> dict[str, Any]:
    location = {
        "type": "object",
        "properties": {
            "url": {"type": "string", "maxLength": 255},
            "metadata": {"type": "object"},
        },
        "required": ["url", "metadata"],
    }
    return {
        "id": _prop("string", "Image identifier (a UUID).", pattern=UUID_RE.pattern),
        "name": _prop(["null", "string"], "Display name of the image.", maxLength=255),
        "status": _readonly("string", "Where the image is in its life cycle.", enum=list(STATUSES)),
        "visibility": _prop("string", "Who can see the image.", enum=list(VISIBILITIES)),
        "protected": _prop("boolean", "When true the image cannot be deleted."),
        "os_hidden": _prop("boolean", "When true the image is left out of default lists."),
        "checksum": _readonly(["null", "string"], "MD5 of the image data.", maxLength=32),
        "os_hash_algo": _readonly(["null", "string"], "Algorithm of os_hash_value.", maxLength=64),
        "os_hash_value": _readonly(["null", "string"], "Digest of the image data.", maxLength=128),
        "owner": _prop(["null", "string"], "Project owning the image.", maxLength=255),
        "size": _readonly(["null", "integer"], "Size of the image data in bytes."),
        "virtual_size": _readonly(["null", "integer"], "Size of the virtual disk in bytes."),
        "container_format": _prop(
            ["null", "string"], "Container format of the data.", enum=[None, *formats.container]
        ),
        "disk_format": _prop(
            ["null", "string"], "Disk format of the data.", enum=[None, *formats.disk]
        ),
        "created_at": _readonly("string", "When the image was created."),
        "updated_at": _readonly("string", "When the image was last changed."),
        "tags": _prop("array", "Labels of the image.", items={"type": "string", "maxLength": 255}),
        "direct_url": _readonly("string", "URL of the data in its store."),
        "min_ram": _prop("integer", "RAM (MiB) needed to boot the image."),
        "min_disk": _prop("integer", "Disk (GiB) needed to boot the image."),
        "self": _readonly("string", "URL of the image."),
        "file": _readonly("string", "URL of the image data."),
        "stores": _readonly("string", "Stores holding the image data (comma separated)."),
        "schema": _readonly("string", "URL of this schema."),
        "locations": _prop("array", "Where the image data is kept.", items=location),
    }


def image_schema(formats: Formats) -> dict[str, Any]:
    return {
        "name": "image",
        "properties": image_properties(formats),
        "additionalProperties": {"type": "string"},
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }


def collection_schema(name: str, item: dict[str, Any], paged: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {name: {"type": "array", "items": item}}
    links = [{"rel": "describedby", "href": "{schema}"}]
    if paged:
        properties.update(first={"type": "string"}, next={"type": "string"})
        links = [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"}, *links]
    properties["schema"] = {"type": "string"}
    return {"name": name, "properties": properties, "links": links}


MEMBER_SCHEMA: dict[str, Any] = {
    "name": "member",
    "properties": {
        "created_at": {"type": "string", "description": "When the membership was created."},
        "image_id": {
            "type": "string",
            "description": "The shared image.",
            "pattern": UUID_RE.pattern,
        },
        "member_id": {"type": "string", "description": "The project the image is shared with."},
        "schema": {"type": "string", "readOnly": True},
        "status": {
            "type": "string",
            "description": "Whether the member accepted the image.",
            "enum": ["pending", "accepted", "rejected"],
        },
        "updated_at": {"type": "string", "description": "When the membership last changed."},
    },
}


def get_image_schema(ctx: ContextDep, deps: DepsDep) -> Response:
    return JSONResponse(image_schema(deps.formats))


def get_images_schema(ctx: ContextDep, deps: DepsDep) -> Response:
    return JSONResponse(collection_schema("images", image_schema(deps.formats), True))


def get_member_schema(ctx: ContextDep) -> Response:
    return JSONResponse(MEMBER_SCHEMA)


def get_members_schema(ctx: ContextDep) -> Response:
    return JSONResponse(collection_schema("members", MEMBER_SCHEMA, False))
