"""Request bodies of the volume API: pydantic models (they describe every body in
/openapi.json) and the checks upstream's JSON schemas make (``parameter_types``), with
upstream's 400 messages. Handlers read the raw body and validate with these."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tinystack.common.exceptions import BadRequest
from tinystack.common.rpc.payload import JSON

#: upstream's ``extra_specs`` / metadata key pattern
KEY = re.compile(r"^[a-zA-Z0-9-_:. /]{1,255}$")
TRUE = {"true", "1", "on", "yes", "y", "t"}
FALSE = {"false", "0", "off", "no", "n", "f"}
MAX_INT = 0x7FFFFFFF


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- volumes ------------------------------------------------------------------------------
class VolumeCreate(_Open):
    name: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=255)
    display_name: str | None = Field(None, max_length=255)
    display_description: str | None = Field(None, max_length=255)
    size: int | str | None = None
    volume_type: str | None = Field(None, max_length=255)
    availability_zone: str | None = Field(None, min_length=1, max_length=255)
    metadata: dict[str, str] | None = None
    snapshot_id: str | None = None
    source_volid: str | None = None
    backup_id: str | None = None
    group_id: str | None = None
    consistencygroup_id: str | None = None
    imageRef: str | None = None
    image_id: str | None = None
    multiattach: bool | str | None = None


class VolumeCreateRequest(_Closed):
    volume: VolumeCreate
    scheduler_hints: dict[str, Any] | None = Field(None, alias="OS-SCH-HNT:scheduler_hints")


class VolumeUpdate(_Closed):
    name: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=255)
    display_name: str | None = Field(None, max_length=255)
    display_description: str | None = Field(None, max_length=255)
    metadata: dict[str, str] | None = None


class VolumeUpdateRequest(_Closed):
    volume: VolumeUpdate


class MetadataRequest(_Closed):
    metadata: dict[str, str]


class MetaItemRequest(_Closed):
    meta: dict[str, str]


# -- volume actions -----------------------------------------------------------------------
class ExtendBody(_Open):
    new_size: int | str


class ExtendCompletionBody(_Closed):
    error: bool | str | None = None


class RetypeBody(_Open):
    new_type: str
    migration_policy: Literal["never", "on-demand"] | None = None


class MigrateBody(_Open):
    host: str
    force_host_copy: bool | str | None = None
    lock_volume: bool | str | None = None


class BootableBody(_Open):
    bootable: bool | str


class ReadonlyBody(_Open):
    readonly: bool | str


class UploadImageBody(_Open):
    image_name: str = Field(..., max_length=255)
    force: bool | str | None = None
    disk_format: str | None = None
    container_format: str | None = None
    visibility: Literal["public", "private", "community", "shared"] | None = None
    protected: bool | str | None = None


class ImageMetadataBody(_Open):
    metadata: dict[str, str]


class UnsetImageMetadataBody(_Open):
    key: str


class ReimageBody(_Closed):
    image_id: str
    reimage_reserved: bool | str = False


class ResetStatusBody(_Open):
    status: str | None = None
    attach_status: str | None = None
    migration_status: str | None = None


class EmptyBody(_Open):
    pass


# -- types, extra specs, access, default types --------------------------------------------------
class VolumeTypeCreate(_Closed):
    name: str = Field(..., min_length=1, max_length=255)
    description: str | None = Field(None, max_length=255)
    is_public: bool | str | None = Field(None, alias="os-volume-type-access:is_public")
    extra_specs: dict[str, str] | None = None


class VolumeTypeCreateRequest(_Closed):
    volume_type: VolumeTypeCreate


class VolumeTypeUpdate(_Closed):
    name: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=255)
    is_public: bool | str | None = None


class VolumeTypeUpdateRequest(_Closed):
    volume_type: VolumeTypeUpdate


class ExtraSpecsRequest(_Closed):
    extra_specs: dict[str, str]


class ExtraSpecItemRequest(BaseModel):
    """``{"<key>": "<value>"}``: one extra spec."""

    model_config = ConfigDict(
        extra="allow", json_schema_extra={"additionalProperties": {"type": "string"}}
    )


class ProjectRef(_Closed):
    project: str


class TypeAccessAdd(_Closed):
    addProjectAccess: ProjectRef


class TypeAccessRemove(_Closed):
    removeProjectAccess: ProjectRef


class DefaultTypeBody(_Closed):
    project: str
    volume_type: str


class DefaultTypeRequest(_Closed):
    default_type: DefaultTypeBody


# -- groups ----------------------------------------------------------------------------------
class GroupTypeCreate(_Closed):
    name: str = Field(..., min_length=1, max_length=255)
    description: str | None = Field(None, max_length=255)
    is_public: bool | str | None = None
    group_specs: dict[str, str] | None = None


class GroupTypeCreateRequest(_Closed):
    group_type: GroupTypeCreate


class GroupTypeUpdate(_Closed):
    name: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=255)
    is_public: bool | str | None = None


class GroupTypeUpdateRequest(_Closed):
    group_type: GroupTypeUpdate


class GroupSpecsRequest(_Closed):
    group_specs: dict[str, str]


class GroupCreate(_Closed):
    group_type: str
    volume_types: list[str] = Field(..., min_length=1)
    name: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=255)
    availability_zone: str | None = Field(None, max_length=255)


class GroupCreateRequest(_Closed):
    group: GroupCreate


class GroupUpdate(_Closed):
    name: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=255)
    add_volumes: str | None = None
    remove_volumes: str | None = None


class GroupUpdateRequest(_Closed):
    group: GroupUpdate


class GroupFromSource(_Closed):
    name: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=255)
    source_group_id: str | None = None
    group_snapshot_id: str | None = None


class GroupFromSourceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    create_from_src: GroupFromSource = Field(..., alias="create-from-src")


class GroupDelete(_Closed):
    delete_volumes: bool | str | None = Field(None, alias="delete-volumes")


class GroupStatus(_Closed):
    status: str


class GroupActionRequest(BaseModel):
    """One of ``delete`` and ``reset_status`` (3.20)."""

    model_config = ConfigDict(extra="forbid")
    delete: GroupDelete | None = None
    reset_status: GroupStatus | None = None


# -- QoS, quotas, services --------------------------------------------------------------------
class QoSCreate(_Open):
    name: str = Field(..., min_length=1, max_length=255)
    consumer: Literal["front-end", "back-end", "both"] | None = None


class QoSCreateRequest(_Closed):
    qos_specs: QoSCreate


class QoSUpdateRequest(_Closed):
    qos_specs: dict[str, str]


class QoSKeysRequest(_Closed):
    keys: list[str]


class QuotaSetRequest(_Closed):
    quota_set: dict[str, int | str]


class QuotaClassSetRequest(_Closed):
    quota_class_set: dict[str, int | str]


class ServiceUpdate(_Open):
    host: str | None = None
    binary: str | None = None
    disabled_reason: str | None = None
    backend_id: str | None = None


# -- checks -----------------------------------------------------------------------------------
def part(body: Any, key: str) -> dict[str, Any]:
    """``body[key]``, which must be an object."""
    if not isinstance(body, dict) or key not in body:
        raise BadRequest(f"Invalid input for field/attribute {key}. '{key}' is a required property")
    found = body[key]
    if not isinstance(found, dict):
        raise BadRequest(
            f"Invalid input for field/attribute {key}. Value: {found!r}. "
            f"{found!r} is not of type 'object'"
        )
    return found


def boolean(value: Any, name: str) -> bool:
    """Upstream's strict boolean: true/false and their spellings."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise BadRequest(f"Invalid input for field/attribute {name}. Value: {value}.")


def integer(value: Any, name: str, minimum: int | None = None, maximum: int = MAX_INT) -> int:
    """An integer (or a string of digits) within bounds."""
    if isinstance(value, bool):
        raise BadRequest(f"{name} must be an integer.")
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"-?\d+", text):
            raise BadRequest(f"{name} must be an integer.")
        value = int(text)
    if not isinstance(value, int):
        raise BadRequest(f"{name} must be an integer.")
    if minimum is not None and value < minimum:
        raise BadRequest(f"{name} must be >= {minimum}.")
    if value > maximum:
        raise BadRequest(f"{name} must be <= {maximum}.")
    return value


def volume_size(value: Any) -> int:
    """A volume size: an integer >= 1 (or a string of digits), as upstream's schema."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadRequest(f"Invalid input for field/attribute size. Value: {value}.")
    if isinstance(value, str) and not re.fullmatch(r"[0-9]+", value):
        raise BadRequest(
            f"Invalid input for field/attribute size. Value: {value}. "
            f"'{value}' does not match '^[0-9]+$'"
        )
    size = int(value)
    if size < 1:
        raise BadRequest(
            f"Invalid input for field/attribute size. Value: {value}. "
            f"{value} is less than the minimum of 1"
        )
    if size > MAX_INT:
        raise BadRequest(f"Invalid input for field/attribute size. Value: {value}.")
    return size


def key_values(data: Any, name: str) -> dict[str, str]:
    """Metadata or extra specs: keys of 1-255 allowed characters, string values <= 255."""
    if not isinstance(data, dict):
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {data!r}.")
    for key, value in data.items():
        if not isinstance(key, str) or not KEY.match(key):
            raise BadRequest(
                f"Invalid input for field/attribute {name}. Value: {data!r}. "
                f"Additional properties are not allowed ('{key}' was unexpected)"
            )
        if not isinstance(value, str):
            raise BadRequest(
                f"Invalid input for field/attribute {key}. Value: {value!r}. "
                f"{value!r} is not of type 'string'"
            )
        if len(value) > 255:
            raise BadRequest(f"Invalid input for field/attribute {key}. Value too long.")
    return dict(data)


def text(value: Any, name: str, *, max_length: int = 255, nullable: bool = True) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise BadRequest(
            f"Invalid input for field/attribute {name}. Value: {value!r}. "
            f"{value!r} is not of type 'string'"
        )
    if len(value) > max_length:
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. Too long.")
    return value


def unexpected(fields: list[str]) -> BadRequest:
    quoted = ", ".join(repr(f) for f in fields)
    verb = "was" if len(fields) == 1 else "were"
    return BadRequest(f"Additional properties are not allowed ({quoted} {verb} unexpected)")


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
    part = object_part("os-attach", value, {"instance_uuid", "mountpoint", "host_name", "mode"}, ())
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
