"""Pydantic building blocks for request bodies (JSON-Schema-like: strict, no extra keys)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from tinystack.placement.api import params
from tinystack.placement.services.rows import MAX_FLOAT, MAX_INT


class Body(BaseModel):
    """A request body: unknown keys and loose types are a 400, as upstream's schemas."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _uuid(value: str) -> str:
    if not params.is_uuid_like(value):
        raise ValueError(f"'{value}' is not a 'uuid'")
    return value


Uuid = Annotated[str, AfterValidator(_uuid)]
#: a provider uuid as a key of an allocations object
UuidKey = Annotated[str, Field(pattern=params.UUID_PATTERN)]
ResourceClassName = Annotated[str, Field(pattern=params.RC_PATTERN)]
CustomName = Annotated[str, Field(pattern=params.CUSTOM_PATTERN, max_length=255)]
ConsumerType = Annotated[
    str, Field(pattern=params.CONSUMER_TYPE_PATTERN, min_length=1, max_length=255)
]
ExternalId = Annotated[str, Field(min_length=1, max_length=255)]
Amount = Annotated[int, Field(ge=1)]
Generation = int
BoundedInt = Annotated[int, Field(le=MAX_INT)]
Ratio = Annotated[float, Field(le=MAX_FLOAT)]
#: request group suffix (``""``: the unsuffixed group) -> providers (1.34; accepted, ignored)
Mappings = Annotated[dict[str, Annotated[list[Uuid], Field(min_length=1)]], Field(min_length=1)]
