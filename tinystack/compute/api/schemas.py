"""The compute request bodies: field types with upstream's JSON-schema rules, and models."""

from __future__ import annotations

import base64
import ipaddress
import re
import uuid as uuidlib
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

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
