"""Request bodies of the volume API: pydantic models (they describe every body in
/openapi.json) and the checks upstream's JSON schemas make, with upstream's 400
messages. Handlers read the raw body and validate with these."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tinystack.common.exceptions import BadRequest
from tinystack.common.rpc.payload import JSON


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- attachments --------------------------------------------------------------------------
class AttachmentCreate(_Closed):
    volume_uuid: str
    instance_uuid: str | None = None
    #: os-brick's connector properties (``host``, ``ip``, ``initiator``, ``mountpoint``, ...)
    connector: dict[str, Any] | None = None
    #: 3.54
    mode: Literal["rw", "ro"] | None = None


class AttachmentCreateRequest(_Closed):
    attachment: AttachmentCreate


class AttachmentUpdate(_Closed):
    connector: dict[str, Any]


class AttachmentUpdateRequest(_Closed):
    attachment: AttachmentUpdate


class AttachmentActionRequest(_Closed):
    complete: Any = Field(None, alias="os-complete")


@dataclass(frozen=True, slots=True)
class AttachmentCreated:
    """A validated ``POST /attachments`` body."""

    volume_uuid: str
    instance_uuid: str | None
    connector: dict[str, JSON] | None
    mode: str | None


@dataclass(frozen=True, slots=True)
class AttachmentUpdated:
    connector: dict[str, JSON]


def attachment_create(body: Any, *, with_mode: bool) -> AttachmentCreated:
    """Upstream's ``attachments.create`` schema (``create_v354`` with ``mode``)."""
    part = top(body, "attachment")
    allowed = {"volume_uuid", "instance_uuid", "connector"} | ({"mode"} if with_mode else set())
    closed(part, "attachment", allowed)
    if "volume_uuid" not in part:
        raise invalid("attachment", part, "'volume_uuid' is a required property")
    volume_uuid = uuid_value(part["volume_uuid"], "volume_uuid")
    instance = part.get("instance_uuid")
    instance_uuid = uuid_value(instance, "instance_uuid") if "instance_uuid" in part else None
    connector = part.get("connector")
    if connector is not None and not isinstance(connector, dict):
        raise invalid("connector", connector, f"{connector!r} is not of type 'object', 'null'")
    mode = part.get("mode")
    if mode is not None and mode not in ("rw", "ro"):
        raise invalid("mode", mode, f"{mode!r} is not one of ['rw', 'ro']")
    return AttachmentCreated(volume_uuid, instance_uuid, connector, mode)


def attachment_update(body: Any) -> AttachmentUpdated:
    """Upstream's ``attachments.update`` schema: a non-empty connector."""
    part = top(body, "attachment")
    closed(part, "attachment", {"connector"})
    if "connector" not in part:
        raise invalid("attachment", part, "'connector' is a required property")
    connector = part["connector"]
    if not isinstance(connector, dict):
        raise invalid("connector", connector, f"{connector!r} is not of type 'object'")
    if not connector:
        raise invalid("connector", connector, "{} does not have enough properties")
    return AttachmentUpdated(connector)


def attachment_action(body: Any) -> None:
    """``{"os-complete": ...}``, the one action of an attachment."""
    action(body, {"os-complete"})


# -- attach actions ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OsAttach:
    instance_uuid: str | None
    host_name: str | None
    mountpoint: str
    mode: str


def os_attach(value: Any) -> OsAttach:
    """Upstream's ``volume_actions.attach`` schema."""
    part = object_part("os-attach", value, {"instance_uuid", "mountpoint", "host_name", "mode"})
    if "mountpoint" not in part:
        raise invalid("os-attach", part, "'mountpoint' is a required property")
    if "instance_uuid" not in part and "host_name" not in part:
        raise invalid("os-attach", part, f"{part} is not valid under any of the given schemas")
    mountpoint = part["mountpoint"]
    if not isinstance(mountpoint, str) or not 1 <= len(mountpoint) <= 255:
        raise invalid("mountpoint", mountpoint, "must be a string of 1 to 255 characters")
    instance = part.get("instance_uuid")
    instance_uuid = uuid_value(instance, "instance_uuid") if "instance_uuid" in part else None
    host_name = part.get("host_name")
    if host_name is not None and (not isinstance(host_name, str) or len(host_name) > 255):
        raise invalid("host_name", host_name, "must be a string of at most 255 characters")
    mode = part.get("mode", "rw")
    if mode not in ("rw", "ro"):
        raise invalid("mode", mode, f"{mode!r} is not one of ['rw', 'ro']")
    return OsAttach(instance_uuid, host_name, mountpoint, str(mode))


def os_detach(value: Any) -> str | None:
    """Upstream's ``volume_actions.detach`` schema: the attachment id, if any."""
    if value is None:
        return None
    part = object_part("os-detach", value, {"attachment_id"}, ())
    attachment_id = part.get("attachment_id")
    return None if attachment_id is None else uuid_value(attachment_id, "attachment_id")


def object_part(
    name: str, value: Any, allowed: set[str], required: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """An action's value: an object with only ``allowed`` keys and the ``required`` ones
    (default: all of ``allowed``)."""
    if not isinstance(value, dict):
        raise invalid(name, value, f"{value!r} is not of type 'object'")
    closed(value, name, allowed)
    for key in sorted(allowed) if required is None else required:
        if key not in value:
            raise invalid(name, value, f"'{key}' is a required property")
    return value


# -- actions ------------------------------------------------------------------------------
def action(body: Any, known: set[str]) -> str:
    """The action a ``.../action`` body names, as upstream's dispatcher reads it."""
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Malformed request body")
    name = next(iter(body))
    if name not in known:
        raise BadRequest(
            f"There is no such action: {name}. Verify the request body and Content-Type "
            "header and try again."
        )
    return str(name)


# -- checks -------------------------------------------------------------------------------
def top(body: Any, key: str) -> dict[str, Any]:
    """``body[key]`` of a body that has nothing else: an object."""
    if not isinstance(body, dict):
        raise BadRequest(f"{body!r} is not of type 'object'")
    if key not in body:
        raise BadRequest(f"'{key}' is a required property")
    closed(body, None, {key})
    part = body[key]
    if not isinstance(part, dict):
        raise invalid(key, part, f"{part!r} is not of type 'object'")
    return part


def closed(part: dict[str, Any], name: str | None, allowed: set[str]) -> None:
    extra = sorted(k for k in part if k not in allowed)
    if not extra:
        return
    quoted = ", ".join(repr(k) for k in extra)
    verb = "was" if len(extra) == 1 else "were"
    message = f"Additional properties are not allowed ({quoted} {verb} unexpected)"
    raise invalid(name, part, message) if name else BadRequest(message)


def invalid(name: str | None, value: Any, message: str) -> BadRequest:
    return BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. {message}")


def uuid_value(value: Any, name: str) -> str:
    """A UUID (upstream's ``uuid`` format: with or without dashes)."""
    if not isinstance(value, str):
        raise invalid(name, value, f"{value!r} is not of type 'string'")
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise invalid(name, value, f"'{value}' is not a 'uuid'") from None
    if str(parsed).replace("-", "") != value.lower().replace("-", ""):
        raise invalid(name, value, f"'{value}' is not a 'uuid'")
    return value


_SORT = re.compile(r"^[a-z_]+$")


def sort_params(
    sort: str | None, sort_key: str | None, sort_dir: str | None
) -> list[tuple[str, str]]:
    """``sort=key[:dir],...`` or ``sort_key``/``sort_dir`` (default: newest first)."""
    if sort and (sort_key or sort_dir):
        raise BadRequest(
            "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used "
            "with the 'sort' parameter."
        )
    pairs: list[tuple[str, str]] = []
    if sort:
        for item in sort.split(","):
            key, _, direction = item.strip().partition(":")
            pairs.append((key.strip(), (direction.strip() or "desc").lower()))
    elif sort_key:
        pairs.append((sort_key, (sort_dir or "desc").lower()))
    for key, direction in pairs:
        if not _SORT.match(key):
            raise BadRequest(f"Invalid sort key {key}")
        if direction not in ("asc", "desc"):
            raise BadRequest("Unknown sort direction, must be 'desc' or 'asc'")
    return pairs or [("created_at", "desc")]
