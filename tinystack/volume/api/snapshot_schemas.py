"""Request bodies of snapshots, snapshot metadata and snapshot actions (upstream's
``cinder/api/schemas``: snapshots, snapshot_metadata, snapshot_actions, admin_actions),
and the field types backups and transfers share."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

TRUE = ("true", "1", "on", "yes", "y", "t")
FALSE = ("false", "0", "off", "no", "n", "f")
_META_KEY = re.compile(r"^[a-zA-Z0-9-_:. /]{1,255}$")
_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)


def _flag(value: Any) -> bool:
    """Upstream's ``boolean``: true/false or one of its accepted strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value.lower() in TRUE:
            return True
        if value.lower() in FALSE:
            return False
    raise ValueError(f"{value!r} is not a valid boolean")


def _metadata(value: dict[str, str]) -> dict[str, str]:
    for key in value:
        if not _META_KEY.match(key):
            raise ValueError(f"invalid metadata key {key!r}")
    return value


def _uuid(value: str) -> str:
    if not _UUID.match(value):
        raise ValueError(f"{value!r} is not a 'uuid'")
    return value


Flag = Annotated[bool, BeforeValidator(_flag)]
Name = Annotated[str | None, Field(max_length=255)]
Description = Annotated[str | None, Field(max_length=255)]
Uuid = Annotated[str, AfterValidator(_uuid)]
Metadata = Annotated[dict[str, Annotated[str, Field(max_length=255)]], AfterValidator(_metadata)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- snapshots --------------------------------------------------------------------------------
class SnapshotCreate(Strict):
    name: Name = None
    display_name: Name = None
    description: Description = None
    volume_id: Uuid | None
    force: Flag | None = None
    metadata: Metadata | None = None


class SnapshotCreateBody(Strict):
    snapshot: SnapshotCreate


class SnapshotUpdate(Strict):
    name: Name = None
    description: Description = None
    display_name: Name = None
    display_description: Description = None


class SnapshotUpdateBody(Strict):
    snapshot: SnapshotUpdate


class RevertBody(Strict):
    """The volume action ``revert`` (3.40)."""

    snapshot_id: Uuid | None = None


# -- metadata ---------------------------------------------------------------------------------
class MetadataBody(Strict):
    metadata: Metadata


class MetaItemBody(Strict):
    meta: Metadata


# -- actions ----------------------------------------------------------------------------------
SnapshotStatus = Literal["available", "creating", "deleting", "error", "error_deleting",
                         "unmanaging", "backing-up", "restoring"]  # fmt: skip


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class ResetStatus(Strict):
    status: Annotated[SnapshotStatus, BeforeValidator(_lower)]


class UpdateSnapshotStatus(Strict):
    status: Literal["available", "creating", "deleting", "error", "error_deleting"]
    progress: Annotated[str, Field(pattern=r"^(100|[1-9]?[0-9])%$")] | None = None


class SnapshotActionBody(BaseModel):
    """``POST /snapshots/{id}/action``: exactly one of these keys."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    reset_status: ResetStatus | None = Field(None, alias="os-reset_status")
    update_snapshot_status: UpdateSnapshotStatus | None = Field(
        None, alias="os-update_snapshot_status"
    )
    force_delete: dict[str, Any] | None = Field(None, alias="os-force_delete")
    unmanage: dict[str, Any] | None = Field(None, alias="os-unmanage")
