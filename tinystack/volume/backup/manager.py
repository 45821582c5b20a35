"""The backup service (``cinder-backup``): its RPC endpoint and operations.

It runs beside or apart from the volume managers (its own RPC topic and service row)
and never touches a volume driver: the bytes of a volume, a snapshot or a temporary
snapshot of an in-use volume come through an export the volume's manager makes for this
host on request (``manager/backup_devices.py``), opened with ``connector.py``; the
backup driver (``chunked.py`` over ``posix.py``) reads or writes them. So the backup
service may be another process on the storage host (a local file export) or another
host (an NBD export).

It holds a driver per backup service (``drivers``: Cinder's driver names, the posix
directory store always, the object store's containers when the cloud runs one) and
uses the one a backup's ``service`` names, so backups made before the object store
came (or with ``[volume] backup_driver`` forced) stay restorable and deletable.

Every operation re-reads its backup and checks the status it expects, so a message
delivered twice or a replay after a restart stops there; each ends in one transaction of
``services/backup_ops.py``. Restart recovery is ``recovery.py``.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from tinystack.common.rpc import Target
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.volume import rpcapi
from tinystack.volume.backup import ceph, chunked
from tinystack.volume.backup.base import BackupError, BackupRef, BackupResult
from tinystack.volume.backup.ceph import CephBackupDriver
from tinystack.volume.backup.chunked import ChunkedBackupDriver
from tinystack.volume.backup.connector import open_device, rbd_volume
from tinystack.volume.payloads import (
    BackupExport,
    BackupRequest,
    Device,
    DeviceRequest,
    RestoreRequest,
)
from tinystack.volume.services import backup_ops, backups
from tinystack.volume.services.backup_ops import BackupState, ImportedBackup
from tinystack.volume.services.deps import Deps

LOG = logging.getLogger(__name__)
#: the services whose exported records this one imports -> the driver that reads them
KNOWN_SERVICES = {
    backups.POSIX_SERVICE: backups.POSIX_SERVICE,
    chunked.SERVICE: backups.POSIX_SERVICE,
    backups.SWIFT_SERVICE: backups.SWIFT_SERVICE,
    ceph.SERVICE: backups.CEPH_SERVICE,
}
#: a backup driver: the chunked format over a store, or RBD images
Driver = ChunkedBackupDriver | CephBackupDriver


def ref_of(backup: BackupState) -> BackupRef:
    return BackupRef(
        id=backup.id,
        volume_id=backup.volume_id,
        container=backup.container or "",
        service_metadata=backup.service_metadata,
        name=backup.name,
        description=backup.description,
    )


class BackupManager:
    target = Target(rpcapi.BACKUP_TOPIC, version=rpcapi.BACKUP_VERSION)

    def __init__(
        self, deps: Deps, drivers: Mapping[str, Driver], host: str, sockets: Path,
        ceph_conf: str = "",
    ) -> None:  # fmt: skip
        self.deps = deps
        #: backup service (Cinder's driver name) -> its driver
        self.drivers = dict(drivers)
        #: this service's host: the connector the volume managers export to
        self.host = host
        self.sockets = sockets
        #: the ceph.conf RBD devices are opened with (their users' keyrings)
        self.ceph_conf = ceph_conf
        self._locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._locks_lock = threading.Lock()

    def lock(self, backup_id: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks[backup_id]

    def driver(self, service: str | None) -> Driver:
        """The driver of a backup whose ``service`` is ``service``."""
        found = self.drivers.get(service or backups.SERVICE)
        if found is None:
            raise BackupError(f"the backup service {service} is not available on this host")
        return found

    @property
    def ttl(self) -> int:
        return int(self.deps.opts.message_ttl)

    # -- RPC ------------------------------------------------------------------------------------
    def create_backup(self, ctxt: rpcapi.RPCContext, request: JSON) -> None:
        self.create(CallContext.from_dict(ctxt), BackupRequest.from_primitive(request).backup_id)

    def delete_backup(self, ctxt: rpcapi.RPCContext, request: JSON) -> None:
        self.delete(CallContext.from_dict(ctxt), BackupRequest.from_primitive(request).backup_id)

    def restore_backup(self, ctxt: rpcapi.RPCContext, request: JSON) -> None:
        self.restore(CallContext.from_dict(ctxt), RestoreRequest.from_primitive(request))

    def export_record(self, ctxt: rpcapi.RPCContext, request: JSON) -> JSON:
        del ctxt
        backup_id = BackupRequest.from_primitive(request).backup_id
        return self.export(backup_id).to_primitive()

    def import_record(self, ctxt: rpcapi.RPCContext, request: JSON, record: JSON) -> None:
        backup_id = BackupRequest.from_primitive(request).backup_id
        self.import_(CallContext.from_dict(ctxt), backup_id, BackupExport.from_primitive(record))

    # -- devices --------------------------------------------------------------------------------
    def _device_host(self, volume_id: str) -> str:
        host = backup_ops.volume_host(self.deps.db, volume_id)
        if not host:
            raise LookupError(f"volume {volume_id} has no backend")
        return host

    # -- create ---------------------------------------------------------------------------------
    def create(self, ctx: CallContext, backup_id: str) -> None:
        with self.lock(backup_id):
            backup = backup_ops.get(self.deps.db, backup_id)
            op = backup_ops.operation(self.deps.db, backup_id)
            if backup is None or backup.status != "creating" or op is None:
                return
            in_use = not backup.snapshot_id and op.args.get("previous_status") == "in-use"
            temp = str(uuid.uuid4()) if in_use else None
            if not backup_ops.started(self.deps.db, backup_id, temp):
                return
            request = DeviceRequest(
                attachment_id=f"backup-{backup_id}",
                volume_id=backup.volume_id,
                connector_host=self.host,
                snapshot_id=backup.snapshot_id,
                temp_snapshot_id=temp,
            )
            try:
                result = self._back_up(ctx, backup, request)
            except Exception as exc:
                LOG.exception("backup %s: failed", backup_id)
                self._remove_objects(backup)
                backup_ops.backup_failed(
                    self.deps.db, backup_id, str(exc) or type(exc).__name__,
                    request_id=ctx.request_id, ttl=self.ttl,
                )  # fmt: skip
            else:
                if not backup_ops.backed_up(
                    self.deps.db, backup_id, container=result.container,
                    service_metadata=result.service_metadata, object_count=result.object_count,
                ):  # fmt: skip
                    LOG.info("backup %s left creating meanwhile; its objects go", backup_id)
                    self._remove_objects(backup)
        self.deps.changed(backup_id)
        self.deps.changed(backup.volume_id)

    def _back_up(
        self, ctx: CallContext, backup: BackupState, request: DeviceRequest
    ) -> BackupResult:
        ref = ref_of(backup)
        driver = self.driver(backup.service)
        meta = backup_ops.volume_meta(self.deps.db, backup.volume_id)
        driver.put_volume_meta(ref, json.dumps(meta).encode())
        parent = None
        if backup.parent_id:
            found = backup_ops.get(self.deps.db, backup.parent_id)
            if found is None or found.status != "available":
                raise RuntimeError(f"the parent backup {backup.parent_id} is not available")
            parent = ref_of(found)
        host = self._device_host(backup.volume_id)
        device = self._attach(ctx, host, request)
        try:
            if isinstance(driver, CephBackupDriver) and device.driver_volume_type == "rbd":
                # a snapshot diff: the driver snapshots the volume itself, unless the
                # backup is of a volume snapshot
                source = rbd_volume(device, snapshot=bool(backup.snapshot_id))
                return driver.backup_rbd(ref, source, parent)
            with open_device(device, False, self.sockets, self.ceph_conf) as volume_file:
                return driver.backup(ref, volume_file, device.size, parent)
        finally:
            self._release(ctx, host, request)

    def _attach(self, ctx: CallContext, host: str, request: DeviceRequest) -> Device:
        timeout = float(self.deps.opts.backup_device_timeout)
        try:
            return self.deps.volumes.attach_device(ctx, host, request, timeout)
        except Exception:
            # the manager may have exported (or snapshotted) before the call failed
            self._release(ctx, host, request)
            raise

    def _release(self, ctx: CallContext, host: str, request: DeviceRequest) -> None:
        """Remove the export (and temporary snapshot); a failure is logged, not raised:
        the manager also drops unknown exports and snapshots when it starts."""
        try:
            self.deps.volumes.detach_device(ctx, host, request)
        except Exception:
            LOG.exception("%s: the device was not released", request.attachment_id)

    def _remove_objects(self, backup: BackupState) -> None:
        """Whatever a failed backup stored (it is of no use without its metadata)."""
        try:
            self.driver(backup.service).delete_backup(ref_of(backup))
        except Exception:
            LOG.exception("backup %s: could not remove its objects", backup.id)

    # -- restore --------------------------------------------------------------------------------
    def restore(self, ctx: CallContext, request: RestoreRequest) -> None:
        """Write the backup into the volume (``restoring-backup``)."""
        with self.lock(request.backup_id):
            backup = backup_ops.get(self.deps.db, request.backup_id)
            if backup is None or backup.status != "restoring":
                return
            device_request = DeviceRequest(
                attachment_id=f"restore-{backup.id}",
                volume_id=request.volume_id,
                connector_host=self.host,
                write=True,
                new_volume=request.volume_is_new,
            )
            meta: dict[str, JSON] = {}
            try:
                self._write(ctx, backup, device_request)
                meta = self._volume_meta(backup)
            except Exception:
                LOG.exception("backup %s: restore into %s failed", backup.id, request.volume_id)
                backup_ops.restored(
                    self.deps.db, backup.id, request.volume_id, meta, ok=False,
                    request_id=ctx.request_id, ttl=self.ttl,
                )  # fmt: skip
            else:
                backup_ops.restored(
                    self.deps.db, backup.id, request.volume_id, meta, ok=True,
                    request_id=ctx.request_id, ttl=self.ttl,
                )  # fmt: skip
        self.deps.changed(request.backup_id)
        self.deps.changed(request.volume_id)

    def _write(self, ctx: CallContext, backup: BackupState, request: DeviceRequest) -> None:
        host = self._device_host(request.volume_id)
        device = self._attach(ctx, host, request)
        driver = self.driver(backup.service)
        try:
            if isinstance(driver, CephBackupDriver) and device.driver_volume_type == "rbd":
                driver.restore_rbd(ref_of(backup), rbd_volume(device), request.new_volume)
                return
            with open_device(device, True, self.sockets, self.ceph_conf) as volume_file:
                driver.restore(ref_of(backup), volume_file, device.size)
        finally:
            self._release(ctx, host, request)

    def _volume_meta(self, backup: BackupState) -> dict[str, JSON]:
        data = self.driver(backup.service).get_volume_meta(ref_of(backup))
        if data is None:
            return {}
        found = json.loads(data)
        return found if isinstance(found, dict) else {}

    # -- delete ---------------------------------------------------------------------------------
    def delete(self, ctx: CallContext, backup_id: str) -> None:
        with self.lock(backup_id):
            backup = backup_ops.get(self.deps.db, backup_id)
            if backup is None or backup.status != "deleting":
                return
            try:
                if backup.container:
                    self.driver(backup.service).delete_backup(ref_of(backup))
            except Exception as exc:
                LOG.exception("backup %s: delete failed", backup_id)
                backup_ops.delete_failed(
                    self.deps.db, backup_id, str(exc), request_id=ctx.request_id, ttl=self.ttl
                )
            else:
                backup_ops.deleted(self.deps.db, backup_id)
        self.deps.changed(backup_id)

    # -- export and import ------------------------------------------------------------------------
    def export(self, backup_id: str) -> BackupExport:
        backup = backup_ops.get(self.deps.db, backup_id)
        if backup is None:
            raise LookupError(f"backup {backup_id} is gone")
        driver_info = self.driver(backup.service).export_record(ref_of(backup))
        data = backup_ops.export_fields(self.deps.db, backup_id)
        data["driver_info"] = driver_info
        url = base64.b64encode(json.dumps(data).encode()).decode()
        return BackupExport(backup_service=backup.service or backups.SERVICE, backup_url=url)

    def import_(self, ctx: CallContext, backup_id: str, record: BackupExport) -> None:
        del ctx
        with self.lock(backup_id):
            backup = backup_ops.get(self.deps.db, backup_id)
            if backup is None or backup.status != "creating":
                return
            try:
                service = KNOWN_SERVICES.get(record.backup_service)
                if service is None:
                    raise ValueError(f"Unsupported backup service {record.backup_service}")
                data = json.loads(base64.b64decode(record.backup_url))
                ref = self.driver(service).import_record(str(data["driver_info"]))
                fields = _imported_fields(data, ref, service)
            except Exception as exc:
                LOG.exception("backup %s: import failed", backup_id)
                backup_ops.set_status(self.deps.db, backup_id, "error", reason=str(exc))
            else:
                backup_ops.imported(self.deps.db, backup_id, fields)
        self.deps.changed(backup_id)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _imported_fields(data: dict[str, Any], ref: BackupRef, service: str) -> ImportedBackup:
    """The row's columns from an exported record the stored objects confirmed."""
    stamp = data.get("data_timestamp")
    return ImportedBackup(
        volume_id=str(data.get("volume_id") or ref.volume_id),
        container=ref.container,
        service_metadata=ref.service_metadata,
        object_count=int(data.get("object_count") or 0),
        snapshot_id=_text(data.get("snapshot_id")),
        display_name=_text(data.get("display_name")),
        display_description=_text(data.get("display_description")),
        parent_id=_text(data.get("parent_id")),
        availability_zone=_text(data.get("availability_zone")),
        data_timestamp=datetime.fromisoformat(stamp) if isinstance(stamp, str) else None,
        encryption_key_id=_text(data.get("encryption_key_id")),
        service=service,
    )
