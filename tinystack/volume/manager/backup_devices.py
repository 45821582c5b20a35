"""The volume manager's side of backups: devices for the backup service.

The backup service (``backup/manager.py``) may run in another process than the
volume manager, on the storage host or elsewhere; it never touches the volume driver.
It asks the volume's manager, over RPC, for an export of what it must read or write
(upstream's ``initialize_connection`` to the backup host's connector):

- a backup of an available volume reads the volume itself;
- a backup of a snapshot reads the snapshot;
- a backup of an in-use volume reads a temporary snapshot taken now (the driver's
  snapshot of an attached volume is crash-consistent), removed when the backup ends;
- a restore writes the volume.

The driver answers like for an attachment: ``file`` (path and format) for a connector on
the storage host, ``nbd`` (host, port, export) for any other, and the backup service opens
it with ``backup/connector.py``. The export is named by the backup (``backup-<id>`` /
``restore-<id>``), so a replay or a crash finds and removes it.
"""

from __future__ import annotations

import logging

from tinystack.common.rpc import Target
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.volume import rpcapi
from tinystack.volume.drivers.base import ConnectionInfo, Connector, SnapshotRef, VolumeRef
from tinystack.volume.drivers.qemu_img import GiB
from tinystack.volume.manager.snapshots import Backend, snapshot_ref
from tinystack.volume.payloads import Device, DeviceRequest, RestoreRequest
from tinystack.volume.services import backup_ops, snapshot_ops, volume_ops
from tinystack.volume.services.records import VolumeRecord

LOG = logging.getLogger(__name__)


class BackupDeviceManager:
    target = Target(rpcapi.VOLUME_TOPIC, version=rpcapi.VOLUME_VERSION)

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def attach_device(self, ctxt: rpcapi.RPCContext, request: JSON) -> JSON:
        del ctxt
        return self.attach(DeviceRequest.from_primitive(request)).to_primitive()

    def detach_device(self, ctxt: rpcapi.RPCContext, request: JSON) -> None:
        del ctxt
        self.detach(DeviceRequest.from_primitive(request))

    def _volume(self, volume_id: str) -> VolumeRef:
        volume = volume_ops.get(self.backend.deps.db, volume_id)
        if volume is None:
            raise LookupError(f"volume {volume_id} is gone")
        return VolumeRef(
            volume.id, volume.size, volume.provider_location, multiattach=volume.multiattach
        )

    def _snapshot(self, snapshot_id: str) -> SnapshotRef:
        snap = snapshot_ops.get(self.backend.deps.db, snapshot_id)
        if snap is None:
            raise LookupError(f"snapshot {snapshot_id} is gone")
        return snapshot_ref(snap)

    def attach(self, request: DeviceRequest) -> Device:
        driver = self.backend.driver
        connector = Connector(host=request.connector_host)
        volume = self._volume(request.volume_id)
        info: ConnectionInfo
        if request.snapshot_id:
            snap = self._snapshot(request.snapshot_id)
            info = driver.initialize_snapshot_connection(snap, connector, request.attachment_id)
            size = snap.volume_size
        elif request.temp_snapshot_id:
            temp = SnapshotRef(request.temp_snapshot_id, volume.id, volume.size)
            with self.backend.lock(volume.id):
                driver.create_snapshot(temp)
            try:
                info = driver.initialize_snapshot_connection(temp, connector, request.attachment_id)
            except Exception:
                driver.delete_snapshot(temp)  # the caller never learns of it
                raise
            size = volume.size
        else:
            if request.write and request.new_volume:
                with self.backend.lock(volume.id):  # laid out for the restore's writes
                    driver.create_volume_for_restore(volume)
            info = driver.initialize_connection(volume, connector, request.attachment_id)
            size = volume.size
        LOG.info("%s: exported %s (%s)", request.attachment_id, volume.id, info.driver_volume_type)
        return Device(info.driver_volume_type, dict(info.data), size * GiB)

    def detach(self, request: DeviceRequest) -> None:
        """Remove the export and the temporary snapshot; idempotent."""
        driver = self.backend.driver
        if request.snapshot_id or request.temp_snapshot_id:
            snapshot_id = request.snapshot_id or request.temp_snapshot_id or ""
            ref = SnapshotRef(snapshot_id, request.volume_id, 0)
            driver.terminate_snapshot_connection(ref, request.attachment_id)
            if request.temp_snapshot_id:
                driver.delete_snapshot(ref)
        else:
            ref_volume = VolumeRef(request.volume_id, 0)
            driver.terminate_connection(ref_volume, request.attachment_id)


def create_from_backup(backend: Backend, volume: VolumeRecord, backup_id: str) -> str | None:
    """``VolumeManager.create_from_backup``: an empty volume, then the backup service
    restores into it (upstream's path for drivers without their own restore). The volume
    is ``restoring-backup`` when this returns; the backup service settles it."""
    location = backend.driver.create_volume_for_restore(
        VolumeRef(volume.id, volume.size, volume.provider_location)
    )
    host = backup_ops.claim_restore(backend.deps.db, backup_id, volume.id)
    request = RestoreRequest(backup_id=backup_id, volume_id=volume.id, volume_is_new=True)
    backend.deps.backups.restore_backup(CallContext.internal(), host, request)
    return location
