"""The volume manager's side of a migration (upstream's generic host-copy migration).

The destination's manager runs it: it asks the source's manager for an export of the
volume (the backup service's device, ``manager/backup_devices.py``: a file, an NBD export
or an RBD image), creates the volume under the same id on its own backend, copies the
data (zero chunks skipped, so thin volumes stay thin) and moves the row to itself in one
transaction; then the source deletes its copy (``delete_migrated``). Any failure before
the move leaves the source as it was (``migration_status`` ``error``) and the partial
copy deleted. A restart of the destination mid-copy does the same (:func:`recover`); a
source that restarts after the move and before its delete finds its copy an orphan.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import BinaryIO

from tinystack.common.rpc import Target
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.volume import rpcapi
from tinystack.volume.backup.connector import open_device, run_dir
from tinystack.volume.drivers.base import VolumeRef
from tinystack.volume.manager.manager import VolumeManager
from tinystack.volume.payloads import DeviceRequest, MigrateSpec
from tinystack.volume.services import migration, volume_ops

LOG = logging.getLogger(__name__)
CHUNK = 4 << 20
#: how long the source's manager may take to export the volume
EXPORT_TIMEOUT = 120.0
#: tries (5 s apart) at deleting a partial copy the backend still holds busy
DELETE_RETRIES = 24
#: the volume statuses a migration runs in (a retype's, an admin's, a locked admin's)
STATUSES = ("retyping", "available", "maintenance")


class MigrationManager:
    target = Target(rpcapi.VOLUME_TOPIC, version=rpcapi.VOLUME_VERSION)

    def __init__(self, manager: VolumeManager) -> None:
        self.manager = manager

    def migrate_volume(self, ctxt: rpcapi.RPCContext, spec: JSON) -> None:
        self.run(CallContext.from_dict(ctxt), MigrateSpec.from_primitive(spec))

    def delete_migrated(self, ctxt: rpcapi.RPCContext, volume_id: str, location: str) -> None:
        """The source: its copy of a volume that now lives elsewhere goes."""
        del ctxt
        with self.manager.lock(volume_id):
            volume = volume_ops.get(self.manager.deps.db, volume_id)
            if (
                volume is not None
                and volume.host is not None
                and (rpcapi.backend_of(volume.host) == self.manager.backend)
            ):
                return  # migrated back here meanwhile: the data is the volume's
            self.manager.driver.delete_volume(VolumeRef(volume_id, 0, location or None))
        LOG.info("volume %s: the source copy of a migration deleted", volume_id)

    def run(self, ctx: CallContext, spec: MigrateSpec) -> None:
        deps = self.manager.deps
        with self.manager.lock(spec.volume_id):
            volume = volume_ops.get(deps.db, spec.volume_id)
            if (
                volume is None
                or volume.host != spec.source_host
                or (volume.migration_status not in ("starting", "migrating"))
            ):  # a stale message: the migration ended
                volume_ops.rollback(deps.db, spec.reservations)
                return
            if volume.id in self.manager.driver.volume_ids():
                # the backends share storage (this is the source's data) or a failed
                # migration left its copy: nothing here may be written or deleted
                LOG.error("volume %s: %s already holds it: not migrating", volume.id,
                          spec.dest_host)  # fmt: skip
                self.fail(ctx, spec, delete_copy=False)
                return
            if not migration.claim(deps.db, spec, STATUSES):
                volume_ops.rollback(deps.db, spec.reservations)
                return
            deps.changed(spec.volume_id)
            multiattach = volume.multiattach
            if spec.new_type_id is not None:  # laid out for the type it will have
                multiattach = volume_ops.type_is_multiattach(deps.db, spec.new_type_id)
            ref = VolumeRef(volume.id, volume.size, None, multiattach)
            started = time.perf_counter()
            try:
                location = self._copy(ctx, spec, ref)
            except Exception:
                LOG.exception("volume %s: migration to %s failed", spec.volume_id, spec.dest_host)
                self.fail(ctx, spec)
                return
            migration.migrated(deps.db, spec, location)
        LOG.info("volume %s: migrated from %s to %s in %.1f s", spec.volume_id, spec.source_host,
                 spec.dest_host, time.perf_counter() - started)  # fmt: skip
        deps.changed(spec.volume_id)
        deps.volumes.delete_migrated(ctx, spec.source_host, spec.volume_id,
                                     volume.provider_location or "")  # fmt: skip

    def _copy(self, ctx: CallContext, spec: MigrateSpec, ref: VolumeRef) -> str | None:
        driver = self.manager.driver
        deps = self.manager.deps
        request = _device_request(self.manager, spec)
        location = driver.create_volume_for_restore(ref)
        device = deps.volumes.attach_device(ctx, spec.source_host, request, EXPORT_TIMEOUT)
        conf = str(deps.opts.backup_ceph_conf or deps.opts.rbd_ceph_conf)
        try:
            with (
                open_device(device, False, run_dir(deps.state_dir), conf) as source,
                driver.open_volume(VolumeRef(ref.id, ref.size, location), True) as dest,
            ):
                _copy_data(source, dest, device.size)
        finally:
            deps.volumes.detach_device(ctx, spec.source_host, request)
        return location

    def _delete_copy(self, spec: MigrateSpec, attempts: int = 1) -> bool:
        """Delete the partial copy (``attempts`` times, 5 s apart); True once it is gone.
        One attempt runs under the caller's lock of the volume; retries take it."""
        driver = self.manager.driver
        for attempt in range(attempts):
            if attempt:
                time.sleep(5)
            lock = self.manager.lock(spec.volume_id) if attempts > 1 else contextlib.nullcontext()
            with lock:
                volume = volume_ops.get(self.manager.deps.db, spec.volume_id)
                if volume is None or volume.host != spec.source_host:
                    return True  # gone, or migrated here since: not a leftover any more
                try:
                    # whatever the copier's kill left (a create stopped half-way is not
                    # listed): claim found nothing of the volume here, so it is all ours
                    driver.delete_volume(VolumeRef(spec.volume_id, 0))
                    return True
                except Exception as exc:
                    LOG.warning("volume %s: the partial copy could not be deleted yet: %s",
                                spec.volume_id, exc)  # fmt: skip
        LOG.error("volume %s: the partial copy of a failed migration stays", spec.volume_id)
        return False

    def fail(self, ctx: CallContext, spec: MigrateSpec, *, delete_copy: bool = True) -> None:
        """The partial copy goes, the source stays (also a restart's recovery, which
        passes ``delete_copy`` only when the migration had started copying)."""
        deps = self.manager.deps
        volume = volume_ops.get(deps.db, spec.volume_id)
        own = rpcapi.backend_of(spec.source_host) == self.manager.backend  # never its source
        if delete_copy and not own and volume is not None and volume.host == spec.source_host:
            if not self._delete_copy(spec):
                # a killed copier's librbd watch outlives it (~30 s): try again a while
                threading.Thread(
                    target=self._delete_copy, args=(spec, DELETE_RETRIES), daemon=True
                ).start()
        migration.failed(deps.db, spec, ctx.request_id, int(deps.opts.message_ttl))
        deps.changed(spec.volume_id)


def _copy_data(source: BinaryIO, dest: BinaryIO, size: int) -> None:
    zero = bytes(CHUNK)
    offset = 0
    while offset < size:
        chunk = source.read(min(CHUNK, size - offset))
        if not chunk:
            break
        if chunk != zero[: len(chunk)]:
            dest.seek(offset)
            dest.write(chunk)
        offset += len(chunk)
    dest.flush()


def recover(manager: VolumeManager, spec: MigrateSpec) -> None:
    """A migration to this backend that a restart interrupted: failed; its copy (if it
    had started copying: ``migrating``) deleted."""
    volume = volume_ops.get(manager.deps.db, spec.volume_id)
    copying = volume is not None and volume.migration_status == "migrating"
    ctx = CallContext.internal()
    if copying:  # the source still exports the volume to the copy that died
        try:
            manager.deps.volumes.detach_device(
                ctx, spec.source_host, _device_request(manager, spec)
            )
        except Exception:
            LOG.exception("volume %s: the source's export could not be removed", spec.volume_id)
    MigrationManager(manager).fail(ctx, spec, delete_copy=copying)


def _device_request(manager: VolumeManager, spec: MigrateSpec) -> DeviceRequest:
    """The source's export of the volume for this destination (named by the volume)."""
    return DeviceRequest(
        attachment_id=f"migrate-{spec.volume_id}",
        volume_id=spec.volume_id,
        connector_host=manager.backend.partition("@")[0],
    )


def resume_lost(manager: VolumeManager, spec: MigrateSpec) -> None:
    """A migration to this backend recorded long ago that no thread here runs (the
    caller checked the volume's lock is free): not started (its cast was lost), it runs
    now; started (its thread's last write was lost), it fails as after a restart."""
    volume = volume_ops.get(manager.deps.db, spec.volume_id)
    if volume is not None and volume.migration_status == "starting":
        MigrationManager(manager).run(CallContext.internal(), spec)
    else:
        recover(manager, spec)
