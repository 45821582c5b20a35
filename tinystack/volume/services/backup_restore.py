"""Restoring a backup: into a new volume (created here, as upstream, named
``restore_backup_<id>``) or into an existing ``available`` volume at least as large.

The backup becomes ``restoring`` and the volume ``restoring-backup`` in one transaction
with the operation's ``workers`` record; the backup service holding the backup's objects
writes the volume and settles both (``backup/manager.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models
from tinystack.volume.payloads import RestoreRequest
from tinystack.volume.services import _rows, backups, volumes, workers
from tinystack.volume.services._protection_rows import (
    authorized_backup_row,
    backup_target,
)
from tinystack.volume.services.deps import Deps

NEW_VOLUME_DESCRIPTION = "auto-created_from_restore_from_backup"


@dataclass(frozen=True, slots=True)
class RestoreRecord:
    backup_id: str
    volume_id: str
    volume_name: str | None


def _check_backup(found: models.Backup) -> None:
    if found.status != "available":
        raise exception.InvalidBackup(reason="Backup status must be available")


def _new_volume(
    deps: Deps, ctx: RequestContext, found: backups.BackupRecord, name: str | None
) -> str:
    """A volume of the backup's size for the restore, once it is ``available``."""
    created = volumes.create(
        deps,
        ctx,
        volumes.VolumeCreate(
            size=found.size,
            name=name or f"restore_backup_{found.id}",
            description=NEW_VOLUME_DESCRIPTION,
        ),
    )
    deadline = time.monotonic() + float(deps.opts.rpc_timeout)
    status = created.status
    while status == "creating" and time.monotonic() < deadline:
        time.sleep(0.2)
        with deps.db.reader() as session:
            row = session.get(models.Volume, created.id)
            status = row.status if row is not None else "error"
    if status != "available":
        raise exception.InvalidVolume(
            reason=f"Error while creating volume {created.id} for restoring backup {found.id}."
        )
    return created.id


def restore(
    deps: Deps, ctx: RequestContext, backup_id: str, volume_id: str | None, name: str | None
) -> RestoreRecord:
    with deps.db.reader() as session:
        found = authorized_backup_row(session, ctx, backup_id)
        ctx.can("backup:restore", backup_target(found))
        _check_backup(found)
        record = backups.records(session, [found])[0]
    volume_is_new = volume_id is None
    if volume_id is None:
        volume_id = _new_volume(deps, ctx, record, name)
    target_id = volume_id

    def tx(session: Session) -> tuple[str, str | None]:
        row = authorized_backup_row(session, ctx, backup_id, lock=True)
        _check_backup(row)
        volume = _rows.visible_volume_row(session, ctx, target_id, lock=True)
        _rows.authorize_volume(ctx, "volume:get", volume)
        if volume.status != "available":
            raise exception.InvalidVolume(reason="Volume to be restored to must be available")
        if row.size > volume.size:
            raise exception.InvalidVolume(
                reason=f"volume size {volume.size} is too small to restore backup of size "
                f"{row.size}."
            )
        host = backups.service_host(
            session, deps.opts.service_down_time, row.availability_zone, row.host
        )
        now = utcnow()
        row.status = "restoring"
        row.restore_volume_id = volume.id
        row.updated_at = now
        volume.status = "restoring-backup"
        volume.updated_at = now
        args: dict[str, JSON] = {"volume_id": volume.id, "volume_is_new": volume_is_new}
        workers.begin(session, backups.BACKUP, backup_id, "restoring", "restore", host, args)
        return host, volume.display_name

    host, volume_name = deps.db.write(tx)
    event = deps.watch(backup_id)
    request = RestoreRequest(backup_id=backup_id, volume_id=target_id, volume_is_new=volume_is_new)
    deps.backups.restore_backup(CallContext.from_request(ctx), host, request)
    deps.settle(backup_id, event)
    return RestoreRecord(backup_id=backup_id, volume_id=target_id, volume_name=volume_name)
