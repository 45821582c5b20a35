"""Request bodies of ``/types/{id}/encryption`` (upstream's ``volume_type_encryption``
schemas): the model describes the body in /openapi.json, :func:`encryption` checks it
with upstream's 400 messages."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tinystack.volume.api import schemas
from tinystack.volume.services.type_encryption import EncryptionChanges

LOCATIONS = ("front-end", "back-end")
FIELDS = {"provider", "cipher", "key_size", "control_location"}


class Encryption(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider: str | None = Field(None, max_length=255)
    cipher: str | None = Field(None, max_length=255)
    key_size: int | str | None = None
    control_location: Literal["front-end", "back-end"] | None = None


class EncryptionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    encryption: Encryption


def encryption(body: Any, *, create: bool) -> tuple[EncryptionChanges, dict[str, Any]]:
    """The changes a body asks for and the body upstream echoes (key_size an integer)."""
    part = schemas.top(body, "encryption")
    schemas.closed(part, "encryption", FIELDS)
    if create:
        for key in ("provider", "control_location"):
            if key not in part:
                raise schemas.invalid("encryption", part, f"'{key}' is a required property")
    provider = part.get("provider")
    if "provider" in part:
        schemas.text(provider, "provider", nullable=False)
    cipher = schemas.text(part.get("cipher"), "cipher")
    location = part.get("control_location")
    if location is not None and location not in LOCATIONS:
        raise schemas.invalid(
            "control_location", location, f"{location!r} is not one of {list(LOCATIONS)!r}"
        )
    key_size = part.get("key_size")
    if key_size is not None:
        key_size = schemas.integer(key_size, "key_size", minimum=0)
    echoed = dict(part)
    if "key_size" in part:
        echoed["key_size"] = key_size
    changes = EncryptionChanges(
        fields=frozenset(part),
        provider=provider,
        cipher=cipher,
        key_size=key_size,
        control_location=location,
    )
    return changes, echoed
