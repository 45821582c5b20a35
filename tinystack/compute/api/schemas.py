"""The compute request bodies: field types with upstream's JSON-schema rules, and models."""

from __future__ import annotations

import base64
import ipaddress
import re
import uuid as uuidlib
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, RootModel

_TRUE = {"true", "1", "on", "yes", "t", "y"}
_FALSE = {"false", "0", "off", "no", "f", "n"}


def _name(value: str) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if value != value.strip():
        raise ValueError("leading or trailing whitespace is not allowed")
    if not value.isprintable():
        raise ValueError("must be printable")
    return value


def _uuid(value: str) -> str:
    try:
        uuidlib.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise ValueError(f"{value!r} is not a 'uuid'") from None
    return value


def is_uuid(value: Any) -> bool:
    try:
        _uuid(value)
    except ValueError:
        return False
    return True


def _bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE:
        return True
    if isinstance(value, str) and value.lower() in _FALSE:
        return False
    raise ValueError(f"{value!r} is not a boolean")


def _int_like(minimum: int) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be an integer")
        if isinstance(value, str):
            if not re.fullmatch(r"[0-9]+", value):
                raise ValueError(f"{value!r} does not match '^[0-9]*$'")
            value = int(value)
        if not isinstance(value, int):
            raise ValueError("must be an integer")
        if value < minimum:
            raise ValueError(f"{value} is less than the minimum of {minimum}")
        return value

    return check


def _ip(version: int | None) -> Any:
    def check(value: str) -> str:
        try:
            parsed = ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a valid IP address") from None
        if version is not None and parsed.version != version:
            raise ValueError(f"{value!r} is not an IPv{version} address")
        # access IPs are stored normalised (upstream keeps them as IP objects)
        return str(parsed) if version is not None else value

    return check


def _base64(value: str) -> str:
    try:
        base64.b64decode(value, validate=True)
    except (ValueError, TypeError):
        raise ValueError("is not valid base64") from None
    return value


def _metadata(value: dict[str, str]) -> dict[str, str]:
    for key, item in value.items():
        if not re.fullmatch(r"[a-zA-Z0-9-_:. ]{1,255}", key):
            raise ValueError(f"invalid metadata key {key!r}")
        if len(item) > 255:
            raise ValueError(f"metadata value for {key!r} is longer than 255 characters")
    return value


def _tag(value: str) -> str:
    if "," in value or "/" in value:
        raise ValueError(f"{value!r} does not match '^[^,/]*$'")
    return value


def _hostname(value: str) -> str:
    if not re.fullmatch(r"[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+", value):
        raise ValueError(f"{value!r} is not a valid hostname")
    return value


def _fqdn(value: str) -> str:
    if not re.fullmatch(r"[a-zA-Z0-9-._]*", value):
        raise ValueError(f"{value!r} is not a valid host name")
    return value


Name = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_name)]
FreeName = Annotated[str, Field(min_length=1, max_length=255)]
Uuid = Annotated[str, AfterValidator(_uuid)]
BoolLike = Annotated[bool, BeforeValidator(_bool)]
PositiveInt = Annotated[int, BeforeValidator(_int_like(1))]
NonNegativeInt = Annotated[int, BeforeValidator(_int_like(0))]
IPv4 = Annotated[str, AfterValidator(_ip(4))]
IPv6 = Annotated[str, AfterValidator(_ip(6))]
IPAddress = Annotated[str, AfterValidator(_ip(None))]
Base64 = Annotated[str, Field(max_length=65535), AfterValidator(_base64)]
Metadata = Annotated[dict[str, str], AfterValidator(_metadata)]
Tag = Annotated[str, Field(min_length=1, max_length=60), AfterValidator(_tag)]
Description = Annotated[str | None, Field(max_length=255)]
Hostname = Annotated[str, Field(min_length=2, max_length=63), AfterValidator(_hostname)]
Fqdn = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_fqdn)]


def parse_hostname(value: str, fqdn: bool) -> str:
    """Validate a hostname field (FQDNs from 2.94); raises ValueError."""
    if fqdn:
        if not 1 <= len(value) <= 255:
            raise ValueError("hostname must be 1 to 255 characters")
        return _fqdn(value)
    if not 2 <= len(value) <= 63:
        raise ValueError("hostname must be 2 to 63 characters")
    return _hostname(value)


class Strict(BaseModel):
    """A request body part that refuses unknown keys (upstream's additionalProperties)."""

    model_config = ConfigDict(extra="forbid")


# -- server actions (``POST /servers/{id}/action``) --------------------------------------------
class RebootBody(Strict):
    type: Literal["HARD", "Hard", "hard", "SOFT", "Soft", "soft"]


class ResizeBody(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    flavorRef: str | int
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")


class CreateImageBody(Strict):
    name: Name
    metadata: Metadata | None = None


class BackupBody(Strict):
    name: Name
    backup_type: str
    rotation: NonNegativeInt
    metadata: Metadata | None = None


class RescueBody(Strict):
    adminPass: str | None = None
    rescue_image_ref: Uuid | None = None


class LockBody(Strict):
    locked_reason: str | None = Field(None, min_length=1, max_length=255)


class ConsoleOutputBody(Strict):
    length: int | str | None = None


class VncBody(Strict):
    type: Literal["novnc", "xvpvnc"]


class SerialBody(Strict):
    type: Literal["serial"]


class PasswordBody(Strict):
    adminPass: str


class ResetStateBody(Strict):
    state: Literal["active", "error"]


class SecurityGroupBody(BaseModel):
    name: str = Field(min_length=1)


class AddFloatingIpBody(Strict):
    address: IPAddress
    fixed_address: IPAddress | None = None


class RemoveFloatingIpBody(Strict):
    address: IPAddress


class MigrateBody(Strict):
    host: Fqdn | None = None


class EvacuateBody(Strict):
    host: Fqdn | None = None
    onSharedStorage: BoolLike | None = None
    adminPass: str | None = None
    force: BoolLike | None = None


#: first versions of the evacuate body's fields (negative minor: gone since)
EVACUATE_GATES = {"onSharedStorage": (2, -14), "force": (2, 29)}


class UnshelveBody(Strict):
    availability_zone: str | None = None
    host: str | None = None


class RebuildBody(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    imageRef: Uuid
    name: Name | None = None
    adminPass: str | None = None
    metadata: Metadata | None = None
    preserve_ephemeral: BoolLike | None = None
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")
    accessIPv4: IPv4 | None = None
    accessIPv6: IPv6 | None = None
    personality: list[dict[str, Any]] | None = None
    description: Description = None
    key_name: str | None = None
    user_data: Base64 | None = None
    trusted_image_certificates: list[str] | None = None
    hostname: str | None = None


REBUILD_GATES = {
    "description": (2, 19),
    "key_name": (2, 54),
    "user_data": (2, 57),
    "trusted_image_certificates": (2, 63),
    "hostname": (2, 90),
    "personality": (2, -57),
}


# -- aggregates --------------------------------------------------------------------------------
class AggregateCreate(Strict):
    name: str = Field(min_length=1, max_length=255)
    availability_zone: str | None = Field(None, min_length=1, max_length=255)


class HostBody(Strict):
    host: str = Field(min_length=1, max_length=255)


# -- flavors -----------------------------------------------------------------------------------
MAX_INT = 0x7FFFFFFF


def _flavor_id(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("must be a string or a number")
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str) or not re.fullmatch(r"(?! )[a-zA-Z0-9. _-]+(?<! )", value):
        raise ValueError(f"{value!r} is not a valid flavor id")
    return value


def _rxtx(value: Any) -> Any:
    if isinstance(value, str):
        if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", value):
            raise ValueError(f"{value!r} is not a number")
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError("must be a positive number")
    return float(value)


class FlavorCreate(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: Name
    id: Annotated[str | None, BeforeValidator(_flavor_id)] = None
    ram: Annotated[PositiveInt, Field(le=MAX_INT)]
    vcpus: Annotated[PositiveInt, Field(le=MAX_INT)]
    disk: Annotated[NonNegativeInt, Field(le=MAX_INT)]
    ephemeral: Annotated[NonNegativeInt, Field(le=MAX_INT)] | None = Field(
        None, alias="OS-FLV-EXT-DATA:ephemeral"
    )
    swap: Annotated[NonNegativeInt, Field(le=MAX_INT)] | None = None
    rxtx_factor: Annotated[float, BeforeValidator(_rxtx)] | None = None
    is_public: BoolLike | None = Field(None, alias="os-flavor-access:is_public")
    description: Description = None


class TenantBody(Strict):
    tenant: str = Field(min_length=1, max_length=255)


# -- interfaces --------------------------------------------------------------------------------
class FixedIp(Strict):
    ip_address: IPAddress


class AttachBody(Strict):
    net_id: Uuid | None = None
    port_id: Uuid | None = None
    fixed_ips: list[FixedIp] | None = Field(None, min_length=1, max_length=1)
    tag: Tag | None = None


# -- key pairs ---------------------------------------------------------------------------------
class KeypairCreate(Strict):
    name: Name
    public_key: str | None = None
    type: Literal["ssh", "x509"] = "ssh"
    user_id: str | None = None


# -- network proxies (before 2.36) -------------------------------------------------------------
class GroupBody(Strict):
    name: str = Field(min_length=1, max_length=255)
    description: str = Field(max_length=255)


class GroupUpdate(Strict):
    name: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=255)


class RuleBody(Strict):
    parent_group_id: str
    ip_protocol: str | None = None
    from_port: int | str | None = None
    to_port: int | str | None = None
    cidr: str | None = None
    group_id: str | None = None


# -- servers -----------------------------------------------------------------------------------
class NetworkItem(Strict):
    uuid: str | None = None
    port: Uuid | None = None
    fixed_ip: IPAddress | None = None
    tag: Tag | None = None


class SecurityGroupRef(Strict):
    name: Name


class BlockDevice(Strict):
    source_type: Literal["volume", "image", "snapshot", "blank"] | None = None
    uuid: str | None = Field(None, min_length=1, max_length=255)
    image_id: Uuid | None = None
    destination_type: Literal["local", "volume"] | None = None
    guest_format: str | None = Field(None, max_length=255)
    device_type: str | None = Field(None, max_length=255)
    disk_bus: str | None = Field(None, max_length=255)
    boot_index: int | str | None = None
    virtual_name: str | None = Field(None, max_length=255)
    volume_id: Uuid | None = None
    snapshot_id: Uuid | None = None
    volume_size: PositiveInt | None = None
    device_name: str | None = Field(None, min_length=1, max_length=255)
    delete_on_termination: BoolLike | None = None
    no_device: Any = None
    connection_info: str | None = None
    tag: Tag | None = None
    volume_type: str | None = Field(None, max_length=255)


class ServerCreate(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: Name
    flavorRef: str | int
    imageRef: str | None = None
    adminPass: str | None = None
    metadata: Metadata | None = None
    networks: list[NetworkItem] | Literal["auto", "none"] | None = None
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")
    accessIPv4: IPv4 | None = None
    accessIPv6: IPv6 | None = None
    personality: list[dict[str, Any]] | None = None
    availability_zone: Name | None = None
    block_device_mapping: list[dict[str, Any]] | None = None
    block_device_mapping_v2: list[BlockDevice] | None = None
    config_drive: BoolLike | None = None
    key_name: Name | None = None
    min_count: PositiveInt | None = None
    max_count: PositiveInt | None = None
    return_reservation_id: BoolLike | None = None
    security_groups: list[SecurityGroupRef] | None = None
    user_data: Base64 | None = None
    description: Description = None
    tags: list[Tag] | None = Field(None, max_length=50)
    trusted_image_certificates: list[str] | None = Field(None, min_length=1, max_length=50)
    host: Fqdn | None = None
    hypervisor_hostname: Fqdn | None = None
    hostname: str | None = None


class ServerUpdate(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: Name | None = None
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")
    accessIPv4: IPv4 | None = None
    accessIPv6: IPv6 | None = None
    description: Description = None
    hostname: str | None = None


# -- compute services --------------------------------------------------------------------------
class ServiceUpdate(Strict):
    status: Literal["enabled", "disabled"] | None = None
    disabled_reason: str | None = Field(None, min_length=1, max_length=255)
    forced_down: BoolLike | None = None


class LegacyUpdate(Strict):
    host: str = Field(min_length=1, max_length=255)
    binary: str = Field(min_length=1, max_length=255)
    disabled_reason: str | None = Field(None, min_length=1, max_length=255)
    forced_down: BoolLike | None = None


# -- whole request bodies, as /openapi.json describes them -------------------------------------
# The handlers check bodies in upstream's order with upstream's messages (some rules depend on
# the microversion); these models say what each write route accepts.
StrMap = dict[str, str]


class AggregateCreateRequest(Strict):
    aggregate: AggregateCreate


class AggregateUpdate(Strict):
    name: str | None = Field(None, min_length=1, max_length=255)
    availability_zone: str | None = Field(None, min_length=1, max_length=255)


class AggregateUpdateRequest(Strict):
    aggregate: AggregateUpdate


class AggregateMetadata(Strict):
    metadata: dict[str, str | None]


class AggregateActionRequest(Strict):
    """One of ``add_host``, ``remove_host`` or ``set_metadata``."""

    add_host: HostBody | None = None
    remove_host: HostBody | None = None
    set_metadata: AggregateMetadata | None = None


class CachedImage(Strict):
    id: Uuid


class AggregateImagesRequest(Strict):
    cache: list[CachedImage] = Field(min_length=1)


class RemoteConsole(Strict):
    protocol: Literal["vnc", "spice", "rdp", "serial", "mks"]
    type: str


class RemoteConsoleRequest(Strict):
    remote_console: RemoteConsole


class ExternalEvent(Strict):
    name: str
    server_uuid: str
    status: Literal["failed", "completed", "in-progress"] = "completed"
    tag: str | None = Field(None, max_length=255)


class ExternalEventsRequest(Strict):
    events: list[ExternalEvent] = Field(min_length=1)


class FlavorCreateRequest(Strict):
    flavor: FlavorCreate


class FlavorUpdate(Strict):
    description: str | None = Field(max_length=65535)


class FlavorUpdateRequest(Strict):
    flavor: FlavorUpdate


class ExtraSpecsRequest(Strict):
    extra_specs: StrMap


class FlavorActionRequest(Strict):
    """One of ``addTenantAccess`` or ``removeTenantAccess``."""

    addTenantAccess: TenantBody | None = None
    removeTenantAccess: TenantBody | None = None


class HostUpdateRequest(Strict):
    status: Literal["enable", "disable"] | None = None
    maintenance_mode: Literal["enable", "disable"] | None = None


class MetadataRequest(Strict):
    metadata: StrMap


class MetaItemRequest(Strict):
    """``{"meta": {key: value}}``: one item, its key that of the URL."""

    meta: StrMap


class InterfaceAttachRequest(Strict):
    interfaceAttachment: AttachBody


class KeypairCreateRequest(Strict):
    keypair: KeypairCreate


class SecurityGroupCreateRequest(Strict):
    security_group: GroupBody


class SecurityGroupUpdateRequest(Strict):
    security_group: GroupUpdate


class SecurityGroupRuleRequest(Strict):
    security_group_rule: RuleBody


class VolumeBody(Strict):
    """``os-volumes`` create (2.1-2.35): a size, or a snapshot to take it from."""

    size: PositiveInt | None = None
    display_name: str | None = None
    display_description: str | None = None
    volume_type: str | None = None
    availability_zone: str | None = None
    snapshot_id: str | None = None
    metadata: dict[str, Any] | None = None


class VolumeCreateRequest(Strict):
    volume: VolumeBody


class SnapshotBody(Strict):
    volume_id: str
    force: BoolLike = False
    display_name: str | None = None
    display_description: str | None = None


class SnapshotCreateRequest(Strict):
    snapshot: SnapshotBody


class AssistedCreateInfo(Strict):
    snapshot_id: str
    type: Literal["qcow2"]
    new_file: str
    id: str | None = None


class AssistedSnapshotBody(Strict):
    volume_id: str
    create_info: AssistedCreateInfo


class AssistedSnapshotCreateRequest(Strict):
    snapshot: AssistedSnapshotBody


class FloatingIpCreateRequest(BaseModel):
    pool: str | None = None


class QuotaSetRequest(Strict):
    """Limits by resource name (-1: unlimited); ``force`` skips the usage check."""

    quota_set: dict[str, int | bool | str]


class QuotaClassSetRequest(Strict):
    quota_class_set: dict[str, int]


class ForceCompleteRequest(Strict):
    force_complete: None


def _device(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(
        r"(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$", value
    ):
        raise ValueError(
            f"{value!r} does not match '(^/dev/x{{0,1}}[a-z]{{0,1}}d{{0,1}})([a-z]+)[0-9]*$'"
        )
    return value


Device = Annotated[str | None, AfterValidator(_device)]


class VolumeAttachment(Strict):
    """``volumeAttachment`` of an attach (tag from 2.49, delete_on_termination from 2.79)."""

    volumeId: Uuid
    device: Device = None
    tag: Tag | None = None
    delete_on_termination: BoolLike | None = None


class VolumeAttachRequest(Strict):
    volumeAttachment: VolumeAttachment


class VolumeAttachmentUpdate(Strict):
    """``volumeAttachment`` of an update: the new volumeId (a swap); from 2.85 the view's
    other fields too, of which only delete_on_termination may change."""

    volumeId: Uuid
    device: Device = None
    tag: Tag | None = None
    delete_on_termination: BoolLike | None = None
    serverId: Uuid | None = None
    id: Uuid | None = None


class VolumeAttachmentUpdateRequest(Strict):
    volumeAttachment: VolumeAttachmentUpdate


class ServerGroupCreate(Strict):
    name: FreeName
    #: before 2.64: a list of one policy
    policies: list[str] | None = None
    #: from 2.64
    policy: str | None = None
    rules: dict[str, int] | None = None


class ServerGroupCreateRequest(Strict):
    server_group: ServerGroupCreate


class TagsRequest(Strict):
    tags: list[Tag] = Field(max_length=50)


class ServerCreateRequest(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    server: ServerCreate
    scheduler_hints: dict[str, Any] | None = Field(None, alias="os:scheduler_hints")
    legacy_scheduler_hints: dict[str, Any] | None = Field(None, alias="OS-SCH-HNT:scheduler_hints")


class ServerUpdateRequest(Strict):
    server: ServerUpdate


class ServiceUpdateRequest(RootModel[ServiceUpdate | LegacyUpdate]):
    """From 2.53 a :class:`ServiceUpdate` by id; before, a :class:`LegacyUpdate` by action."""


class ExtraSpecItemRequest(RootModel[StrMap]):
    """``{key: value}``: one extra spec, its key that of the URL."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1})


class LiveMigrateBody(Strict):
    """``os-migrateLive``; which keys each microversion requires or allows is the
    handler's check (``action_handlers.live_migrate``)."""

    host: Fqdn | None = None
    block_migration: Literal["auto"] | BoolLike | None = None
    disk_over_commit: BoolLike | None = None
    force: BoolLike | None = None
