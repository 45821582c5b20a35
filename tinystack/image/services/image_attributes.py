"""Image attributes: which exist, which are read-only or reserved, and what values they take.

This is the image JSON schema of the API (``/v2/schemas/image``) applied by
hand: the request bodies of create and PATCH are checked here and turned into
plain values for the service layer. Upstream's status codes are kept: a
read-only or reserved attribute is 403, an invalid value 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tinystack.common.exceptions import BadRequest, Forbidden

UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)

STATUSES = (
    "queued",
    "saving",
    "active",
    "killed",
    "deleted",
    "uploading",
    "importing",
    "pending_delete",
    "deactivated",
)
VISIBILITIES = ("community", "public", "private", "shared")

#: attributes a client may set (everything else in the body is a free-form property)
WRITABLE = (
    "id",
    "name",
    "visibility",
    "protected",
    "os_hidden",
    "owner",
    "container_format",
    "disk_format",
    "min_ram",
    "min_disk",
    "tags",
)
READONLY = (
    "created_at",
    "updated_at",
    "status",
    "checksum",
    "size",
    "virtual_size",
    "direct_url",
    "self",
    "file",
    "schema",
    "id",
    "os_hash_algo",
    "os_hash_value",
    "stores",
)
#: refused on create with 403, like upstream
CREATE_DISALLOWED = ("direct_url", "self", "file", "schema", "stores")
CREATE_READONLY = (
    "created_at",
    "updated_at",
    "status",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "size",
    "virtual_size",
)
RESERVED = ("location", "locations", "deleted", "deleted_at")
RESERVED_PREFIX = "os_glance"
#: base attributes; PATCH may not remove them
BASE = frozenset(WRITABLE) | frozenset(READONLY)

PATCH_MEDIA_TYPES = {
    "application/openstack-images-v2.1-json-patch": 10,
    "application/openstack-images-v2.0-json-patch": 4,
}
PATCH_OPS = ("add", "remove", "replace")


@dataclass(frozen=True, slots=True)
class CreateRequest:
    """A checked create body: base attributes (defaults applied), properties and tags."""

    id: str | None = None
    name: str | None = None
    visibility: str = "shared"
    #: the owner the body names (``owner_given``), else the caller's project
    owner: str | None = None
    owner_given: bool = False
    protected: bool = False
    os_hidden: bool = False
    disk_format: str | None = None
    container_format: str | None = None
    min_disk: int = 0
    min_ram: int = 0
    properties: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Change:
    op: str
    name: str
    value: Any = None
    #: 4 for the deprecated v2.0 patch media type (draft 4), 10 for v2.1
    draft: int = 10
    #: ``/locations/<index>``: the position ("-" to append); None for other paths
    index: str | None = None


@dataclass(frozen=True, slots=True)
class Formats:
    """The disk and container formats this cloud accepts."""

    disk: tuple[str, ...] = ()
    container: tuple[str, ...] = ()


def _bad(name: str, reason: str) -> BadRequest:
    return BadRequest(f"Provided object does not match schema 'image': {name}: {reason}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_value(name: str, value: Any, formats: Formats) -> Any:
    """Validate one attribute's value as the image schema does; return it."""
    if name == "id":
        if not isinstance(value, str) or not UUID_RE.match(value):
            raise _bad(name, f"{value!r} is not a valid UUID")
    elif name in ("name", "owner"):
        if value is not None and not isinstance(value, str):
            raise _bad(name, f"{value!r} is not of type 'null', 'string'")
        if isinstance(value, str) and len(value) > 255:
            raise _bad(name, "is longer than 255 characters")
    elif name == "visibility":
        if value not in VISIBILITIES:
            raise _bad(name, f"{value!r} is not one of {list(VISIBILITIES)}")
    elif name in ("protected", "os_hidden"):
        if not isinstance(value, bool):
            raise _bad(name, f"{value!r} is not of type 'boolean'")
    elif name in ("min_ram", "min_disk"):
        if not _is_int(value):
            raise _bad(name, f"{value!r} is not of type 'integer'")
        if value < 0 or value > 2**31 - 1:
            raise BadRequest(f"Invalid value '{value}' for parameter '{name}'.")
    elif name in ("disk_format", "container_format"):
        allowed = formats.disk if name == "disk_format" else formats.container
        if value is not None and value not in allowed:
            raise _bad(name, f"{value!r} is not one of {[None, *allowed]}")
    elif name == "tags":
        return check_tags(value)
    else:
        check_property(name, value)
    return value


def check_tags(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise _bad("tags", f"{value!r} is not of type 'array'")
    tags: list[str] = []
    for tag in value:
        check_tag(tag)
        if tag not in tags:
            tags.append(tag)
    return tags


def check_tag(tag: Any) -> str:
    if not isinstance(tag, str):
        raise _bad("tags", f"{tag!r} is not of type 'string'")
    if len(tag) > 255:
        raise _bad("tags", "a tag is longer than 255 characters")
    return tag


def check_property(name: str, value: Any) -> None:
    if len(name) > 255:
        raise BadRequest("Custom property should not be greater than 255 characters.")
    check_not_reserved(name)
    if not isinstance(value, str):
        raise _bad(name, f"{value!r} is not of type 'string'")


def check_not_reserved(name: str) -> None:
    if name in RESERVED or name.startswith(RESERVED_PREFIX):
        raise Forbidden(f"Attribute '{name}' is reserved.")


def parse_create(body: object, formats: Formats) -> CreateRequest:
    """Split a create body into base attributes, free-form properties and tags."""
    if not isinstance(body, dict):
        raise BadRequest("Provided object does not match schema 'image': not an object")
    for key in CREATE_DISALLOWED:
        if key in body:
            raise Forbidden(f"Attribute '{key}' is read-only.")
    for key in CREATE_READONLY:
        if key in body:
            raise Forbidden(f"Attribute '{key}' is read-only.")
    attrs: dict[str, Any] = {}
    properties: dict[str, str] = {}
    tags: list[str] = []
    for key, value in body.items():
        if key == "tags":
            tags = check_tags(value)
        elif key in WRITABLE:
            attrs[key] = check_value(key, value, formats)
        else:
            check_property(key, value)
            properties[key] = value
    return CreateRequest(
        id=attrs.get("id"),
        name=attrs.get("name"),
        visibility=attrs.get("visibility", "shared"),
        owner=attrs.get("owner"),
        owner_given="owner" in attrs,
        protected=attrs.get("protected", False),
        os_hidden=attrs.get("os_hidden", False),
        disk_format=attrs.get("disk_format"),
        container_format=attrs.get("container_format"),
        min_disk=attrs.get("min_disk", 0),
        min_ram=attrs.get("min_ram", 0),
        properties=properties,
        tags=tuple(tags),
    )


def parse_patch(body: object, draft: int, formats: Formats) -> list[Change]:
    """Turn a JSON-patch body into validated changes (the paths are one level deep)."""
    if not isinstance(body, list):
        raise BadRequest("Request body must be a JSON array of operation objects.")
    changes = []
    for raw in body:
        if not isinstance(raw, dict):
            raise BadRequest("Operations must be JSON objects.")
        op, pointer = _op_and_path(raw, draft)
        index = None
        if pointer.startswith("/locations/"):
            name, index = "locations", pointer.removeprefix("/locations/")
        else:
            name = _decode_pointer(pointer)
        change = Change(op, name, draft=draft, index=index)
        if op != "remove":
            if "value" not in raw:
                raise BadRequest(f'Operation "{op}" requires a member named "value".')
            change = Change(op, name, raw["value"], draft, index)
        if name != "locations":  # checked by image_location_patch
            _check_change(change, formats)
        changes.append(change)
    return changes


def _op_and_path(raw: dict[str, Any], draft: int) -> tuple[str, str]:
    if draft == 4:
        ops = [op for op in PATCH_OPS if op in raw]
        if len(ops) != 1:
            raise BadRequest(
                'Operation objects must contain exactly one member named "add", '
                '"remove", or "replace".'
            )
        op, pointer = ops[0], raw[ops[0]]
    else:
        raw_op = raw.get("op")
        if raw_op is None:
            raise BadRequest(
                "Unable to find `op` in JSON Schema change. "
                "It must be one of the following: add, remove, replace."
            )
        if raw_op not in PATCH_OPS:
            raise BadRequest(
                f"Invalid operation: `{raw_op}`. "
                "It must be one of the following: add, remove, replace."
            )
        if "path" not in raw:
            raise BadRequest("Unable to find 'path' in JSON Schema change")
        op, pointer = str(raw_op), raw["path"]
    if not isinstance(pointer, str):
        raise BadRequest(f"Pointer `{pointer}` is not a string.")
    return op, pointer


def _decode_pointer(pointer: str) -> str:
    """The single attribute name a JSON pointer addresses."""
    if not pointer.startswith("/"):
        raise BadRequest(f'Pointer `{pointer}` does not start with "/".')
    if re.search(r"~[^01]", pointer) or pointer.endswith("~"):
        raise BadRequest(f'Pointer `{pointer}` contains "~" not part of a recognized escape.')
    parts = [p.replace("~1", "/").replace("~0", "~").strip() for p in pointer[1:].split("/")]
    if len(parts) != 1 or not parts[0]:
        raise BadRequest(f"Invalid JSON pointer for this resource: '{pointer}'")
    return parts[0]


def _check_change(change: Change, formats: Formats) -> None:
    name = change.name
    if name in READONLY:
        raise Forbidden(f"Attribute '{name}' is read-only.")
    check_not_reserved(name)
    if change.op != "remove":
        check_value(name, change.value, formats)
