"""Typed RPC clients of the volume service's workers: the scheduler and the managers.

Every argument is a payload of :mod:`tinystack.volume.payloads` (sent as its
``to_primitive()``) or a scalar; the endpoint methods (``scheduler/manager.py``,
``manager/manager.py``) take the same names. The caller's :class:`CallContext` travels
as the transport's context.

* scheduler 1.0: create_volume(VolumeSpec), extend_volume(ExtendSpec), retype(RetypeSpec),
  create_group(GroupSpec)
* volume 1.0: create_volume(VolumeSpec), delete_volume, extend_volume(ExtendSpec),
  retype(RetypeSpec), upload_image(ImageUpload); calls (the API waits for the driver):
  attachment_update(AttachmentConnect) -> Connection, attachment_delete,
  terminate_connection (``manager/attachments.py``);
  create_snapshot, delete_snapshot,
  revert_to_snapshot (SnapshotRequest, ``manager/snapshots.py``); attach_device,
  detach_device (DeviceRequest -> Device, ``manager/backup_devices.py``); manageable volumes
  (``manager/manageable.py``): get_manageable_volumes -> ManageableList (a call),
  manage_existing(ManageSpec), unmanage (casts); manageable snapshots:
  get_manageable_snapshots -> ManageableList and manage_existing_snapshot
  (SnapshotManageSpec) -> {"error"} (calls), unmanage_snapshot(SnapshotRequest) (a cast);
  do_cleanup(CleanupSpec)
  (``manager/recovery.py``); reimage(ReimageSpec) (``manager/reimage.py``)
* backup 1.0 (``backup/manager.py``): create_backup, delete_backup (BackupRequest),
  restore_backup (RestoreRequest), export_record
  (-> BackupExport), import_record(BackupExport)

A manager serves ``cinder-volume`` at ``server=host@backend`` (a volume's host without
its ``#pool``); a backup service ``cinder-backup`` at ``server=host``.
"""

from __future__ import annotations

from typing import TypeAlias

from tinystack.common.exceptions import TinystackError
from tinystack.common.rpc import RemoteError, RPCClient, RPCError, Target, Transport
from tinystack.common.rpc.client import VersionCapFn
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.volume import exception
from tinystack.volume.payloads import (
    AttachmentConnect,
    BackupExport,
    BackupRequest,
    CleanupSpec,
    Connection,
    Device,
    DeviceRequest,
    ExtendSpec,
    GroupSpec,
    ImageUpload,
    ManageableEntry,
    ManageableList,
    ManageSpec,
    MigrateSpec,
    ReimageSpec,
    RestoreRequest,
    RetypeSpec,
    SnapshotManageSpec,
    SnapshotRequest,
    VolumeSpec,
)

SCHEDULER_TOPIC = "cinder-scheduler"
BACKUP_TOPIC = "cinder-backup"
BACKUP_VERSION = "1.0"
VOLUME_TOPIC = "cinder-volume"
SCHEDULER_VERSION = "1.0"
#: 1.1: migrate_volume and delete_migrated (a volume moving between backends)
VOLUME_VERSION = "1.1"
#: topic -> the version this code serves (what a service row reports);
#: ``[upgrade_levels] volume_scheduler|volume|backup`` cap the clients
VERSIONS = {
    SCHEDULER_TOPIC: SCHEDULER_VERSION,
    VOLUME_TOPIC: VOLUME_VERSION,
    BACKUP_TOPIC: BACKUP_VERSION,
}

RPCContext: TypeAlias = dict[str, JSON]
"""The transport's context of a request: a :meth:`CallContext.to_dict`."""


def backend_of(host: str) -> str:
    """``host@backend`` of a volume's ``host@backend#pool``."""
    return host.partition("#")[0]


class SchedulerAPI:
    def __init__(
        self, transport: Transport, timeout: float = 60, version_cap: VersionCapFn | None = None
    ) -> None:
        self.client = RPCClient(
            transport, Target(SCHEDULER_TOPIC, version=SCHEDULER_VERSION), timeout, version_cap
        )

    def create_volume(self, ctx: CallContext, spec: VolumeSpec) -> None:
        """Choose a pool for the volume and cast its creation to that backend's manager
        (or put it in ``error`` with a user message)."""
        self.client.cast(ctx.to_dict(), "create_volume", spec=spec.to_primitive())

    def extend_volume(self, ctx: CallContext, host: str, spec: ExtendSpec) -> None:
        """Check the volume's pool has room for the new size, then cast the extend."""
        self.client.cast(ctx.to_dict(), "extend_volume", host=host, spec=spec.to_primitive())

    def retype(self, ctx: CallContext, host: str, spec: RetypeSpec) -> None:
        """Check the volume's backend satisfies the new type, then cast the retype."""
        self.client.cast(ctx.to_dict(), "retype", host=host, spec=spec.to_primitive())

    def create_group(self, ctx: CallContext, spec: GroupSpec) -> None:
        """Choose the backend of a generic volume group (all its types must fit there)."""
        self.client.cast(ctx.to_dict(), "create_group", spec=spec.to_primitive())


class VolumeAPI:
    """The managers, one per backend, addressed by a volume's host."""

    def __init__(
        self, transport: Transport, timeout: float = 60, version_cap: VersionCapFn | None = None
    ) -> None:
        self.transport = transport
        self.timeout = timeout
        self.version_cap = version_cap

    def _client(self, host: str) -> RPCClient:
        target = Target(VOLUME_TOPIC, server=backend_of(host), version=VOLUME_VERSION)
        return RPCClient(self.transport, target, self.timeout, self.version_cap)

    def create_volume(self, ctx: CallContext, spec: VolumeSpec) -> None:
        """Create the volume on ``spec.host`` (chosen by the scheduler)."""
        assert spec.host is not None, "a scheduled volume has a host"
        self._client(spec.host).cast(ctx.to_dict(), "create_volume", spec=spec.to_primitive())

    def delete_volume(self, ctx: CallContext, host: str, volume_id: str) -> None:
        """Delete the volume's data and its row (it is ``deleting``)."""
        self._client(host).cast(ctx.to_dict(), "delete_volume", volume_id=volume_id)

    # -- attachments (calls: the API answers with what the driver did) --------------------
    def attachment_update(self, ctx: CallContext, host: str, spec: AttachmentConnect) -> Connection:
        """Export the volume for the attachment's connector; the connection info."""
        try:
            found = self._client(host).call(
                ctx.to_dict(), "attachment_update", spec=spec.to_primitive()
            )
        except RPCError as exc:
            raise _known(exc) from exc
        return Connection.from_primitive(found)

    def attachment_delete(self, ctx: CallContext, host: str, attachment_id: str) -> None:
        """Remove the attachment's export and the attachment (the volume's status follows
        what attachments remain)."""
        try:
            self._client(host).call(ctx.to_dict(), "attachment_delete", attachment_id=attachment_id)
        except RPCError as exc:
            raise _known(exc) from exc

    def terminate_connection(
        self, ctx: CallContext, host: str, volume_id: str, connector_host: str | None
    ) -> None:
        """``os-terminate_connection``: remove the volume's exports for ``connector_host``
        (None: every export of the volume); attachments that were never attached go too."""
        try:
            self._client(host).call(
                ctx.to_dict(),
                "terminate_connection",
                volume_id=volume_id,
                connector_host=connector_host,
            )
        except RPCError as exc:
            raise _known(exc) from exc

    def extend_volume(self, ctx: CallContext, host: str, spec: ExtendSpec) -> None:
        self._client(host).cast(ctx.to_dict(), "extend_volume", spec=spec.to_primitive())

    def retype(self, ctx: CallContext, host: str, spec: RetypeSpec) -> None:
        self._client(host).cast(ctx.to_dict(), "retype", spec=spec.to_primitive())

    def migrate_volume(self, ctx: CallContext, spec: MigrateSpec) -> None:
        """The destination's manager copies the volume to itself (manager/migration.py)."""
        client = self._client(spec.dest_host).prepare(version="1.1")  # new in 1.1
        client.cast(ctx.to_dict(), "migrate_volume", spec=spec.to_primitive())

    def delete_migrated(self, ctx: CallContext, host: str, volume_id: str, location: str) -> None:
        """The source's manager deletes what a migration left behind on its backend."""
        self._client(host).prepare(version="1.1").cast(  # new in 1.1
            ctx.to_dict(), "delete_migrated", volume_id=volume_id, location=location
        )

    def upload_image(self, ctx: CallContext, host: str, upload: ImageUpload) -> None:
        """Copy the volume into the image ``upload.image_id`` (the volume is ``uploading``)."""
        self._client(host).cast(ctx.to_dict(), "upload_image", upload=upload.to_primitive())

    # -- manageable volumes ---------------------------------------------------------------
    def get_manageable_volumes(self, ctx: CallContext, host: str) -> list[ManageableEntry]:
        """What the backend holds that no volume claims (the driver's list)."""
        try:
            found = self._client(host).call(ctx.to_dict(), "get_manageable_volumes")
        except RPCError as exc:
            raise _known(exc) from exc
        return list(ManageableList.from_primitive(found).entries)

    def manage_existing(self, ctx: CallContext, host: str, spec: ManageSpec) -> None:
        """Adopt ``spec.reference`` as the volume (it is ``managing``)."""
        self._client(host).cast(ctx.to_dict(), "manage_existing", spec=spec.to_primitive())

    def unmanage(self, ctx: CallContext, host: str, volume_id: str) -> None:
        """Forget the volume, keeping its data (it is ``unmanaging``)."""
        self._client(host).cast(ctx.to_dict(), "unmanage", volume_id=volume_id)

    def do_cleanup(self, ctx: CallContext, host: str, spec: CleanupSpec) -> None:
        """Replay the backend's recorded operations (``POST /workers/cleanup``)."""
        self._client(host).cast(ctx.to_dict(), "do_cleanup", spec=spec.to_primitive())

    def reimage(self, ctx: CallContext, host: str, spec: ReimageSpec) -> None:
        """Rewrite the volume with the image's contents (it is ``downloading``)."""
        self._client(host).cast(ctx.to_dict(), "reimage", spec=spec.to_primitive())

    # -- snapshots (manager/snapshots.py) --------------------------------------------------
    def create_snapshot(self, ctx: CallContext, host: str, request: SnapshotRequest) -> None:
        """Snapshot the volume on its backend (the snapshot is ``creating``)."""
        self._client(host).cast(ctx.to_dict(), "create_snapshot", request=request.to_primitive())

    def delete_snapshot(self, ctx: CallContext, host: str, request: SnapshotRequest) -> None:
        """Remove the snapshot's data and row (it is ``deleting``)."""
        self._client(host).cast(ctx.to_dict(), "delete_snapshot", request=request.to_primitive())

    def get_manageable_snapshots(self, ctx: CallContext, host: str) -> list[ManageableEntry]:
        """Snapshot data the backend holds that no snapshot claims (the driver's list)."""
        try:
            found = self._client(host).call(ctx.to_dict(), "get_manageable_snapshots")
        except RPCError as exc:
            raise _known(exc) from exc
        return list(ManageableList.from_primitive(found).entries)

    def manage_existing_snapshot(
        self, ctx: CallContext, host: str, spec: SnapshotManageSpec
    ) -> str | None:
        """Adopt ``spec.reference`` as the snapshot (``creating``); waits for the driver
        and returns why the reference is invalid (the row is gone then), else None."""
        try:
            found = self._client(host).call(
                ctx.to_dict(), "manage_existing_snapshot", spec=spec.to_primitive()
            )
        except RPCError as exc:
            raise _known(exc) from exc
        error = found.get("error") if isinstance(found, dict) else None
        return str(error) if error else None

    def unmanage_snapshot(self, ctx: CallContext, host: str, request: SnapshotRequest) -> None:
        """Forget the snapshot, keeping its data (it is ``unmanaging``)."""
        self._client(host).cast(ctx.to_dict(), "unmanage_snapshot", request=request.to_primitive())

    def revert_to_snapshot(self, ctx: CallContext, host: str, request: SnapshotRequest) -> None:
        """Revert the volume (``reverting``) to the snapshot (``restoring``)."""
        self._client(host).cast(ctx.to_dict(), "revert_to_snapshot", request=request.to_primitive())

    # -- the backup service's devices (manager/backup_devices.py) --------------------------
    def attach_device(
        self, ctx: CallContext, host: str, request: DeviceRequest, timeout: float
    ) -> Device:
        """Export the volume (or its snapshot, or a temporary snapshot taken now) for the
        backup service and say how to open it."""
        client = self._client(host).prepare(timeout=timeout)
        reply = client.call(ctx.to_dict(), "attach_device", request=request.to_primitive())
        return Device.from_primitive(reply)

    def detach_device(self, ctx: CallContext, host: str, request: DeviceRequest) -> None:
        """Remove the export (and the temporary snapshot); done when it returns."""
        self._client(host).call(ctx.to_dict(), "detach_device", request=request.to_primitive())


class BackupAPI:
    """The backup services, addressed by a backup's host."""

    def __init__(
        self, transport: Transport, timeout: float = 60, version_cap: VersionCapFn | None = None
    ) -> None:
        self.transport = transport
        self.timeout = timeout
        self.version_cap = version_cap

    def _client(self, host: str, timeout: float | None = None) -> RPCClient:
        target = Target(BACKUP_TOPIC, server=host, version=BACKUP_VERSION)
        wait = self.timeout if timeout is None else timeout
        return RPCClient(self.transport, target, wait, self.version_cap)

    def create_backup(self, ctx: CallContext, host: str, request: BackupRequest) -> None:
        """Back up the volume (``backing-up``) into the backup (``creating``)."""
        self._client(host).cast(ctx.to_dict(), "create_backup", request=request.to_primitive())

    def delete_backup(self, ctx: CallContext, host: str, request: BackupRequest) -> None:
        """Remove the backup's objects and row (it is ``deleting``)."""
        self._client(host).cast(ctx.to_dict(), "delete_backup", request=request.to_primitive())

    def restore_backup(self, ctx: CallContext, host: str, request: RestoreRequest) -> None:
        self._client(host).cast(ctx.to_dict(), "restore_backup", request=request.to_primitive())

    def export_record(self, ctx: CallContext, host: str, request: BackupRequest) -> BackupExport:
        reply = self._client(host).call(
            ctx.to_dict(), "export_record", request=request.to_primitive()
        )
        return BackupExport.from_primitive(reply)

    def import_record(
        self, ctx: CallContext, host: str, request: BackupRequest, record: BackupExport
    ) -> None:
        """Check the record against the stored objects and fill the backup (``creating``)."""
        self._client(host).cast(
            ctx.to_dict(), "import_record", request=request.to_primitive(),
            record=record.to_primitive(),
        )  # fmt: skip


#: manager exceptions the API re-raises as themselves (their message and HTTP status)
_KNOWN: dict[str, type[TinystackError]] = {
    cls.__name__: cls
    for cls in (
        exception.InvalidVolume,
        exception.InvalidInput,
        exception.VolumeNotFound,
        exception.VolumeAttachmentNotFound,
        exception.ResourceConflict,
    )
}


def _known(exc: RPCError) -> TinystackError:
    """The manager's own exception again, or a backend error (500) for anything else
    (a failed driver, a manager that does not answer)."""
    if isinstance(exc, RemoteError):
        known = _KNOWN.get(exc.exc_type)
        if known is not None:
            return known(exc.message)
        return exception.VolumeBackendError(data=exc.message)
    return exception.VolumeBackendError(data=str(exc))
