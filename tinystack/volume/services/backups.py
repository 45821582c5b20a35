"""Backups: create (full or incremental; of a snapshot; of an in-use volume with
``force``), list, show, update (3.9), delete, the admin actions, and export/import of a
backup's record. Restores are ``backup_restore.py``.

A create checks the volume (or snapshot) and the quota (``backups``,
``backup_gigabytes``), picks the parent of an incremental backup and a backup service
that is up, and in one transaction writes the backup in ``creating``, moves the volume
to ``backing-up`` (or the snapshot) and records the operation (``workers``, with the
volume's previous status); then it casts to that backup service (``backup/manager.py``),
which settles the backup in ``available`` or ``error`` and the volume back where it was.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.db import Database
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models
from tinystack.volume.payloads import BackupExport, BackupRequest
from tinystack.volume.services import (
    _rows,
    listing,
    os_services,
    quotas,
    snapshots,
    workers,
)
from tinystack.volume.services._protection_rows import (
    authorized_backup_row,
    authorized_snapshot_row,
    backup_row,
    backup_target,
)
from tinystack.volume.services.deps import Deps

BACKUP = "Backup"
BINARY = "cinder-backup"
#: the drivers a backup's ``service`` names (Cinder's; the chunked format is theirs)
POSIX_SERVICE = "cinder.backup.drivers.posix.PosixBackupDriver"
SWIFT_SERVICE = "cinder.backup.drivers.swift.SwiftBackupDriver"
CEPH_SERVICE = "cinder.backup.drivers.ceph.CephBackupDriver"
SERVICES = {"posix": POSIX_SERVICE, "swift": SWIFT_SERVICE, "ceph": CEPH_SERVICE}
#: what a backup made before drivers were chosen, and an import until checked, name
SERVICE = POSIX_SERVICE
GET = "backup:get"
#: the volume id of an imported backup (upstream's IMPORT_VOLUME_ID)
IMPORT_VOLUME_ID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True, slots=True)
class BackupRecord:
    """A backup, every column the API shows, with its metadata."""

    id: str
    volume_id: str
    snapshot_id: str | None
    project_id: str
    user_id: str
    host: str | None
    availability_zone: str | None
    name: str | None
    description: str | None
    status: str
    fail_reason: str | None
    size: int
    object_count: int
    container: str | None
    parent_id: str | None
    num_dependent_backups: int
    data_timestamp: datetime | None
    encryption_key_id: str | None
    created_at: datetime
    updated_at: datetime | None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def is_incremental(self) -> bool:
        return self.parent_id is not None

    @property
    def has_dependent_backups(self) -> bool:
        return self.num_dependent_backups > 0


@dataclass(frozen=True, slots=True)
class BackupCreate:
    volume_id: str
    name: str | None = None
    description: str | None = None
    container: str | None = None
    incremental: bool = False
    force: bool = False
    snapshot_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    availability_zone: str | None = None


@dataclass(frozen=True, slots=True)
class BackupUpdate:
    name: str | None = None
    description: str | None = None
    metadata: dict[str, str] | None = None
    set_name: bool = False
    set_description: bool = False


def records(session: Session, rows: list[models.Backup]) -> list[BackupRecord]:
    ids = [row.id for row in rows]
    meta: dict[str, dict[str, str]] = {i: {} for i in ids}
    if ids:
        for bid, key, value in session.execute(
            select(models.BackupMetadata.backup_id, models.BackupMetadata.key,
                   models.BackupMetadata.value).where(models.BackupMetadata.backup_id.in_(ids))
        ):  # fmt: skip
            meta[bid][key] = value
    return [
        BackupRecord(
            id=row.id,
            volume_id=row.volume_id,
            snapshot_id=row.snapshot_id,
            project_id=row.project_id,
            user_id=row.user_id,
            host=row.host,
            availability_zone=row.availability_zone,
            name=row.display_name,
            description=row.display_description,
            status=row.status,
            fail_reason=row.fail_reason,
            size=row.size,
            object_count=row.object_count,
            container=row.container,
            parent_id=row.parent_id,
            num_dependent_backups=row.num_dependent_backups,
            data_timestamp=row.data_timestamp,
            encryption_key_id=row.encryption_key_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
            metadata=meta[row.id],
        )  # fmt: skip
        for row in rows
    ]


def deltas(size: int, sign: int = 1) -> dict[str, int]:
    return {"backups": sign, "backup_gigabytes": sign * size}


# -- backup services ----------------------------------------------------------------------------
def service_host(session: Session, down_time: int, zone: str | None, prefer: str | None) -> str:
    """A ``cinder-backup`` that is up (and in ``zone``): ``prefer`` (where a backup's
    objects are) when it is one of them; 503 when there is none."""
    now = utcnow()
    up = [
        svc
        for svc in session.scalars(select(models.Service).where(models.Service.binary == BINARY))
        if not svc.disabled
        and os_services.is_up(svc.heartbeat_at, down_time, now)
        and (not zone or svc.availability_zone == zone)
    ]
    if prefer:
        if any(svc.host == prefer for svc in up):
            return prefer
        raise exception.BackupServiceUnavailable(service_id=BINARY)
    if not up:
        raise exception.BackupServiceUnavailable(service_id=BINARY)
    # the least busy service: fewest backups in flight
    busy: dict[str | None, int] = {}
    for host, count in session.execute(
        select(models.Backup.host, func.count())
        .where(models.Backup.status.in_(("creating", "restoring", "deleting")))
        .group_by(models.Backup.host)
    ).tuples():
        busy[host] = int(count)
    return min(up, key=lambda svc: (busy.get(svc.host, 0), svc.host)).host


# -- reads ----------------------------------------------------------------------------------------
def get(db: Database, ctx: RequestContext, backup_id: str) -> BackupRecord:
    with db.reader() as session:
        return records(session, [authorized_backup_row(session, ctx, backup_id)])[0]


def _not_found(marker: str) -> Exception:
    return exception.BackupNotFound(backup_id=marker)


TABLE = listing.Table(
    model=models.Backup,
    not_found=_not_found,
    metadata=(models.BackupMetadata, "backup_id"),
    sort_aliases={"name": "display_name"},
)


def list_backups(
    db: Database, ctx: RequestContext, wanted: listing.ListQuery
) -> tuple[list[BackupRecord], int | None]:
    ctx.can("backup:get_all", {"project_id": ctx.project_id})
    with db.reader() as session:
        query: Select[Any] = select(models.Backup)
        if not wanted.all_tenants:
            query = query.where(models.Backup.project_id == (ctx.project_id or ""))
        rows = listing.page(session, query, TABLE, wanted)
        total = listing.count(session, query, TABLE, wanted) if wanted.with_count else None
        return records(session, rows), total


# -- create ---------------------------------------------------------------------------------------
def _source(
    session: Session, ctx: RequestContext, req: BackupCreate
) -> tuple[models.Volume, models.Snapshot | None]:
    volume = _rows.visible_volume_row(session, ctx, req.volume_id, lock=True)
    _rows.authorize_volume(ctx, "backup:create", volume)
    snap = None
    if req.snapshot_id:
        snap = authorized_snapshot_row(session, ctx, req.snapshot_id, snapshots.GET, lock=True)
        if snap.volume_id != volume.id:
            raise exception.InvalidVolume(
                reason=f"Volume {volume.id} does not match with snapshot.volume_id "
                f"{snap.volume_id}."
            )
        if snap.status != "available":
            raise exception.InvalidSnapshot(
                reason="Snapshot to be backed up must be available, but the current status "
                f'is "{snap.status}".'
            )
    elif volume.status not in ("available", "in-use"):
        raise exception.InvalidVolume(
            reason="Volume to be backed up must be available or in-use, but the current "
            f'status is "{volume.status}".'
        )
    elif volume.status == "in-use" and not req.force:
        raise exception.InvalidVolume(reason="Backing up an in-use volume must use the force flag.")
    return volume, snap


def _parent(
    session: Session, project_id: str, volume_id: str, snap: models.Snapshot | None
) -> models.Backup:
    """The parent of an incremental backup: the newest available backup of the volume
    (of a snapshot: the newest taken before the snapshot)."""
    query = select(models.Backup).where(
        models.Backup.volume_id == volume_id,
        models.Backup.project_id == project_id,
        models.Backup.status == "available",
    )
    if snap is not None:
        query = query.where(models.Backup.data_timestamp < snap.created_at)
    found = session.scalars(
        query.order_by(models.Backup.data_timestamp.desc(), models.Backup.created_at.desc())
    ).first()
    if found is None:
        raise exception.InvalidBackup(reason="No backups available to do an incremental backup.")
    return found


def backup_driver(deps: Deps) -> str:
    """The driver of new backups (``posix`` or ``swift``): ``[volume] backup_driver``,
    or with ``auto`` the object store when the cloud runs one."""
    choice = deps.opts.backup_driver
    if choice == "auto":
        choice = "swift" if deps.object_store.available() else "posix"
    return choice


def default_container(deps: Deps, driver: str) -> str:
    opts = deps.opts
    if driver == "ceph":
        return opts.backup_ceph_pool
    return opts.backup_swift_container if driver == "swift" else opts.backup_container


def create(deps: Deps, ctx: RequestContext, req: BackupCreate) -> BackupRecord:
    backup_id = str(uuid.uuid4())
    project_id = ctx.project_id or ""

    def tx(session: Session) -> str:
        volume, snap = _source(session, ctx, req)
        quotas.consume(session, deps.opts, project_id, deltas(volume.size))
        parent = _parent(session, project_id, volume.id, snap) if req.incremental else None
        zone = req.availability_zone
        # incrementals go where their parent's objects are (a local directory store)
        host = service_host(
            session, deps.opts.service_down_time, zone, parent.host if parent else None
        )
        now = utcnow()
        # an incremental backup goes where its parent's objects are
        if parent is not None:
            service = parent.service or SERVICE
            container = req.container or parent.container or ""
        else:
            driver = backup_driver(deps)
            service = SERVICES[driver]
            container = req.container or default_container(deps, driver)
        session.add(
            models.Backup(
                id=backup_id, volume_id=volume.id, snapshot_id=req.snapshot_id,
                project_id=project_id, user_id=ctx.user_id or "", host=host,
                availability_zone=zone, display_name=req.name,
                display_description=req.description, status="creating",
                size=volume.size, object_count=0,
                container=container,
                parent_id=parent.id if parent else None, num_dependent_backups=0,
                service=service, data_timestamp=snap.created_at if snap else now,
                encryption_key_id=volume.encryption_key_id, created_at=now,
            )
        )  # fmt: skip
        session.flush()
        for key, value in req.metadata.items():
            session.add(models.BackupMetadata(backup_id=backup_id, key=key, value=value))
        if parent is not None:
            parent.num_dependent_backups += 1
        args: dict[str, JSON] = {"volume_id": volume.id}
        if snap is not None:
            snap.status = "backing-up"
            snap.updated_at = now
        else:
            args["previous_status"] = volume.status
            volume.status = "backing-up"
            volume.updated_at = now
        workers.begin(session, BACKUP, backup_id, "creating", "create", host, args)
        return host

    host = deps.db.write(tx)
    event = deps.watch(backup_id)
    deps.backups.create_backup(CallContext.from_request(ctx), host, BackupRequest(backup_id))
    deps.settle(backup_id, event)
    with deps.db.reader() as session:
        found = session.get(models.Backup, backup_id)
        if found is None:
            raise exception.BackupNotFound(backup_id=backup_id)
        return records(session, [found])[0]


# -- update and delete ----------------------------------------------------------------------------
def update(
    db: Database, ctx: RequestContext, backup_id: str, changes: BackupUpdate
) -> BackupRecord:
    def tx(session: Session) -> BackupRecord:
        found = authorized_backup_row(session, ctx, backup_id, lock=True)
        ctx.can("backup:update", backup_target(found))
        if changes.set_name:
            found.display_name = changes.name
        if changes.set_description:
            found.display_description = changes.description
        if changes.metadata is not None:
            session.execute(
                sql_delete(models.BackupMetadata).where(
                    models.BackupMetadata.backup_id == backup_id
                )
            )
            for key, value in changes.metadata.items():
                session.add(models.BackupMetadata(backup_id=backup_id, key=key, value=value))
        found.updated_at = utcnow()
        session.flush()
        return records(session, [found])[0]

    return db.write(tx)


def delete(deps: Deps, ctx: RequestContext, backup_id: str, *, force: bool = False) -> None:
    """Move the backup to ``deleting`` and cast its deletion to the service holding its
    objects (``force``: whatever its status, an admin's os-force_delete)."""

    def tx(session: Session) -> str:
        found = authorized_backup_row(session, ctx, backup_id, lock=True)
        ctx.can("backup:delete", backup_target(found))
        if force:
            ctx.can(
                "volume_extension:backup_admin_actions:force_delete",
                backup_target(found),
            )
        elif found.status not in ("available", "error"):
            raise exception.InvalidBackup(reason="Backup status must be available or error")
        dependents = session.scalar(
            select(func.count())
            .select_from(models.Backup)
            .where(models.Backup.parent_id == backup_id)
        )
        if dependents:
            raise exception.InvalidBackup(reason="Incremental backups exist for this backup.")
        host = (
            service_host(session, deps.opts.service_down_time, found.availability_zone, found.host)
            if found.host
            else service_host(session, deps.opts.service_down_time, None, None)
        )
        found.status = "deleting"
        found.host = host
        found.updated_at = utcnow()
        workers.begin(session, BACKUP, backup_id, "deleting", "delete", host)
        return host

    host = deps.db.write(tx)
    event = deps.watch(backup_id)
    deps.backups.delete_backup(CallContext.from_request(ctx), host, BackupRequest(backup_id))
    deps.settle(backup_id, event)


def reset_status(db: Database, ctx: RequestContext, backup_id: str, status: str) -> None:
    """Admin: set the backup's status (the operation in flight is forgotten)."""

    def tx(session: Session) -> None:
        found = authorized_backup_row(
            session, ctx, backup_id, "volume_extension:backup_admin_actions:reset_status",
            lock=True,
        )  # fmt: skip
        found.status = status
        found.updated_at = utcnow()
        workers.finish(session, BACKUP, backup_id)

    db.write(tx)


# -- export and import ----------------------------------------------------------------------------
def export_record(deps: Deps, ctx: RequestContext, backup_id: str) -> BackupExport:
    """The backup's record: its row and the driver's description of its objects,
    base64 JSON (``backup_url``), as the backup service holding it reads them."""
    with deps.db.reader() as session:
        found = authorized_backup_row(session, ctx, backup_id)
        ctx.can("backup:export-import", backup_target(found))
        if found.status != "available":
            raise exception.InvalidBackup(
                reason=f"Backup status must be available and not {found.status}."
            )
        host = service_host(
            session, deps.opts.service_down_time, found.availability_zone, found.host
        )
    return deps.backups.export_record(CallContext.from_request(ctx), host, BackupRequest(backup_id))


def decode_record(url: str) -> dict[str, JSON]:
    try:
        data = json.loads(base64.b64decode(url.encode(), validate=True))
    except (binascii.Error, ValueError) as exc:
        raise exception.InvalidInput(reason=f"Can't parse backup record: {exc}") from None
    if not isinstance(data, dict):
        raise exception.InvalidInput(reason="Can't parse backup record.")
    return data


def import_record(deps: Deps, ctx: RequestContext, record: BackupExport) -> BackupRecord:
    """A backup row (``creating``) from an exported record; the backup service checks
    the stored objects and makes it ``available`` (or ``error``)."""
    ctx.can("backup:backup-import", {"project_id": ctx.project_id})
    data = decode_record(record.backup_url)
    if "id" not in data:
        raise exception.InvalidInput(reason="Provided backup record is missing an id")
    if "size" not in data:
        raise exception.InvalidInput(reason="Provided backup record is missing size attribute")
    backup_id = str(data["id"])
    project_id = ctx.project_id or ""

    def tx(session: Session) -> str:
        if session.get(models.Backup, backup_id) is not None:
            raise exception.InvalidBackup(reason="Backup already exists in database.")
        host = service_host(session, deps.opts.service_down_time, None, None)
        size = int(str(data["size"]))
        quotas.consume(session, deps.opts, project_id, deltas(size))
        session.add(
            models.Backup(
                id=backup_id, volume_id=IMPORT_VOLUME_ID, project_id=project_id,
                user_id=ctx.user_id or "", host=host, status="creating", size=size,
                object_count=0, num_dependent_backups=0, service=SERVICE,
                created_at=utcnow(),
            )
        )  # fmt: skip
        workers.begin(session, BACKUP, backup_id, "creating", "import", host)
        return host

    host = deps.db.write(tx)
    event = deps.watch(backup_id)
    deps.backups.import_record(
        CallContext.from_request(ctx), host, BackupRequest(backup_id), record
    )
    deps.settle(backup_id, event)
    with deps.db.reader() as session:
        return records(session, [backup_row(session, backup_id)])[0]
