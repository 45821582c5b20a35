"""Request bodies of backups and their actions (upstream's ``schemas/backups.py`` and
the backup part of ``schemas/admin_actions.py``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field

from tinystack.volume.api.snapshot_schemas import (
    Description,
    Flag,
    Metadata,
    Name,
    Strict,
    Uuid,
)

Container = Annotated[str | None, Field(max_length=255)]


class BackupCreate(Strict):
    volume_id: Uuid
    container: Container = None
    description: Description = None
    incremental: Flag = False
    force: Flag = False
    name: Name = None
    snapshot_id: Uuid | None = None


class BackupCreateBody(Strict):
    backup: BackupCreate


class BackupCreateV343(BackupCreate):
    metadata: Metadata | None = None


class BackupCreateV343Body(Strict):
    backup: BackupCreateV343


class BackupCreateV351(BackupCreateV343):
    availability_zone: Annotated[str | None, Field(max_length=255)] = None


class BackupCreateV351Body(Strict):
    backup: BackupCreateV351


class BackupUpdate(Strict):
    name: Name = None
    description: Description = None


class BackupUpdateBody(Strict):
    backup: BackupUpdate | None


class BackupUpdateV343(BackupUpdate):
    metadata: Metadata | None = None


class BackupUpdateV343Body(Strict):
    backup: BackupUpdateV343 | None


class Restore(Strict):
    name: Name = None
    volume_id: Uuid | None = None


class RestoreBody(Strict):
    restore: Restore | None


class Record(Strict):
    backup_service: Annotated[str, Field(max_length=255)]
    backup_url: Annotated[str, Field(min_length=1)]


class ImportBody(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    backup_record: Record = Field(alias="backup-record")


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class BackupResetStatus(Strict):
    status: Annotated[Literal["available", "error"], BeforeValidator(_lower)]


class BackupActionBody(Strict):
    """``POST /backups/{id}/action``: exactly one of these keys."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    reset_status: BackupResetStatus | None = Field(None, alias="os-reset_status")
    force_delete: dict[str, Any] | None = Field(None, alias="os-force_delete")
