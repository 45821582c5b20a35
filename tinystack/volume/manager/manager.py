"""The volume manager's RPC endpoint: one per backend (``host@backend``), running the
driver for the operations the API and the scheduler cast to it.

Each operation takes the volume's lock (one operation per volume at a time), re-reads the
volume and checks it is still in the status the operation expects (a replay after a
restart, or a message delivered twice, finds the work done and stops), runs the driver
off the RPC thread pool, and settles the volume in one transaction
(``services/volume_ops.py``). Hooks for the later features:

- :meth:`VolumeManager.create_from_backup` (backup helper: restore into the new volume);
- :meth:`VolumeManager.delete_snapshots` (cascade delete; the snapshot helper owns
  snapshot operations and may replace it);
- ``images.ImageOps`` (volumes from images through the image cache; uploads).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict

from tinystack.common.rpc import Target
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.volume import rpcapi
from tinystack.volume.drivers.base import SnapshotRef, VolumeDriver, VolumeRef
from tinystack.volume.drivers.errors import GuestMustResize, ImageTooLarge, VolumeBusy
from tinystack.volume.manager import backup_devices, compute_events, usage
from tinystack.volume.manager.images import ImageOps
from tinystack.volume.payloads import ExtendSpec, ImageUpload, RetypeSpec, VolumeSpec
from tinystack.volume.services import extend_completion, messages, volume_ops
from tinystack.volume.services.deps import Deps
from tinystack.volume.services.records import VolumeRecord

LOG = logging.getLogger(__name__)


def ref_of(volume: VolumeRecord) -> VolumeRef:
    return VolumeRef(volume.id, volume.size, volume.provider_location, volume.multiattach)


class VolumeManager:
    target = Target(rpcapi.VOLUME_TOPIC, version=rpcapi.VOLUME_VERSION)

    def __init__(self, deps: Deps, driver: VolumeDriver, backend: str) -> None:
        self.deps = deps
        self.driver = driver
        #: ``host@backend``
        self.backend = backend
        self.images = ImageOps(deps, driver)
        self._locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._locks_lock = threading.Lock()

    def lock(self, resource_id: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks[resource_id]

    @property
    def ttl(self) -> int:
        return int(self.deps.opts.message_ttl)

    # -- create -------------------------------------------------------------------------------
    def create_volume(self, ctxt: rpcapi.RPCContext, spec: JSON) -> None:
        ctx = CallContext.from_dict(ctxt)
        self.create(ctx, VolumeSpec.from_primitive(spec))

    def create(self, ctx: CallContext, spec: VolumeSpec) -> None:
        with self.lock(spec.volume_id):
            volume = volume_ops.get(self.deps.db, spec.volume_id)
            if volume is None or volume.status not in ("creating", "downloading"):
                return
            action = messages.CREATE_VOLUME_FROM_BACKEND
            detail = messages.DRIVER_FAILED_CREATE
            try:
                if spec.image_id:
                    action, detail = messages.COPY_IMAGE_TO_VOLUME, messages.UNKNOWN_ERROR
                    location = self.images.create_from_image(ctx, volume, spec.image_id)
                else:
                    location = self._create(volume, spec)
            except Exception as exc:
                LOG.exception("volume %s: create failed", spec.volume_id)
                if isinstance(exc, ImageTooLarge):
                    detail = messages.NOT_ENOUGH_SPACE_FOR_IMAGE
                self._discard(volume)
                volume_ops.mark_failed(
                    self.deps.db, volume.id, status="error", action=action, detail=detail,
                    request_id=ctx.request_id, ttl=self.ttl,
                )  # fmt: skip
            else:
                if not volume_ops.created(self.deps.db, volume.id, location):
                    LOG.info("volume %s was deleted while it was created", volume.id)
                elif (made := volume_ops.get(self.deps.db, volume.id)) is not None:
                    usage.notify_usage(self.deps.notifier, ctx, made, "create.end")
            self.deps.changed(spec.volume_id)

    def _create(self, volume: VolumeRecord, spec: VolumeSpec) -> str | None:
        ref = ref_of(volume)
        if spec.source_volid:
            source = volume_ops.get(self.deps.db, spec.source_volid)
            if source is None:
                raise RuntimeError(f"source volume {spec.source_volid} is gone")
            return self.driver.create_cloned_volume(ref, ref_of(source))
        if spec.snapshot_id:
            snap = volume_ops.snapshot(self.deps.db, spec.snapshot_id)
            if snap is None:
                raise RuntimeError(f"snapshot {spec.snapshot_id} is gone")
            snapshot = SnapshotRef(
                snap.id, snap.volume_id, snap.volume_size, snap.provider_location
            )
            return self.driver.create_volume_from_snapshot(ref, snapshot)
        if spec.backup_id:
            return self.create_from_backup(volume, spec.backup_id)
        return self.driver.create_volume(ref)

    def create_from_backup(self, volume: VolumeRecord, backup_id: str) -> str | None:
        """Hook for the backup service: restore ``backup_id`` into the new volume."""
        return backup_devices.create_from_backup(self, volume, backup_id)

    def _discard(self, volume: VolumeRecord) -> None:
        """Remove what a failed create may have left on the backend."""
        try:
            self.driver.delete_volume(ref_of(volume))
        except Exception:
            LOG.exception("volume %s: could not remove the failed create's data", volume.id)

    # -- delete -------------------------------------------------------------------------------
    def delete_volume(self, ctxt: rpcapi.RPCContext, volume_id: str) -> None:
        del ctxt
        self.delete(volume_id)

    def delete(self, volume_id: str) -> None:
        with self.lock(volume_id):
            volume = volume_ops.get(self.deps.db, volume_id)
            if volume is None or volume.status != "deleting":
                return
            try:
                self.delete_snapshots(volume)
                self.driver.delete_volume(ref_of(volume))
            except VolumeBusy as exc:  # upstream's VolumeIsBusy: the volume stays usable
                LOG.warning("volume %s: not deleted: %s", volume_id, exc)
                volume_ops.set_status(self.deps.db, volume_id, "available")
            except Exception:
                LOG.exception("volume %s: delete failed", volume_id)
                volume_ops.set_status(self.deps.db, volume_id, "error_deleting")
            else:
                volume_ops.deleted(self.deps.db, volume_id)
                usage.notify_usage(self.deps.notifier, None, volume, "delete.end")
            self.deps.changed(volume_id)

    def delete_snapshots(self, volume: VolumeRecord) -> None:
        """Cascade: the volume's snapshots (all ``deleting``) go first."""
        for snap in volume_ops.snapshots_of(self.deps.db, volume.id):
            ref = SnapshotRef(snap.id, snap.volume_id, snap.volume_size, snap.provider_location)
            self.driver.delete_snapshot(ref)
            volume_ops.snapshot_deleted(self.deps.db, snap.id)

    # -- extend and retype --------------------------------------------------------------------
    def extend_volume(self, ctxt: rpcapi.RPCContext, spec: JSON) -> None:
        ctx = CallContext.from_dict(ctxt)
        self.extend(ctx, ExtendSpec.from_primitive(spec))

    def extend(self, ctx: CallContext, spec: ExtendSpec) -> None:
        back_to = "in-use" if spec.attached else "available"
        with self.lock(spec.volume_id):
            volume = volume_ops.get(self.deps.db, spec.volume_id)
            if volume is None or volume.status != "extending":
                volume_ops.rollback(self.deps.db, spec.reservations)
                return
            try:
                self.driver.extend_volume(ref_of(volume), spec.new_size)
            except GuestMustResize as exc:
                waits = spec.attached and len(spec.instance_uuids) == 1
                if waits and extend_completion.await_guest(
                    self.deps.db, spec.volume_id, spec.new_size, spec.reservations
                ):
                    self._await_guest(ctx, volume, spec)
                    return
                LOG.warning("volume %s: %s, and no one guest can", spec.volume_id, exc)
                volume_ops.mark_failed(
                    self.deps.db, spec.volume_id, status="error_extending",
                    action=messages.EXTEND_VOLUME, detail=messages.DRIVER_FAILED_EXTEND,
                    request_id=ctx.request_id, ttl=self.ttl, reservations=spec.reservations,
                )  # fmt: skip
                self.deps.changed(spec.volume_id)
                return
            except Exception:
                LOG.exception("volume %s: extend failed", spec.volume_id)
                volume_ops.mark_failed(
                    self.deps.db, spec.volume_id, status="error_extending",
                    action=messages.EXTEND_VOLUME, detail=messages.DRIVER_FAILED_EXTEND,
                    request_id=ctx.request_id, ttl=self.ttl, reservations=spec.reservations,
                )  # fmt: skip
                self.deps.changed(spec.volume_id)
                return
            volume_ops.extended(
                self.deps.db, spec.volume_id, spec.new_size, spec.reservations, back_to
            )
            if spec.attached:  # a replayed extend compute had grown: no longer waiting
                extend_completion.drop(self.deps.db, spec.volume_id)
        if spec.attached:
            compute_events.volume_extended(self.deps, ctx, volume, spec.instance_uuids)
        self.deps.changed(spec.volume_id)

    def _await_guest(self, ctx: CallContext, volume: VolumeRecord, spec: ExtendSpec) -> None:
        """The volume waits (``extending``) for compute's completion action; compute not
        told rolls the extend back at once."""
        if not compute_events.volume_extended(self.deps, ctx, volume, spec.instance_uuids):
            extend_completion.complete(
                self.deps.db, spec.volume_id, error=True, request_id=ctx.request_id, ttl=self.ttl
            )
        self.deps.changed(spec.volume_id)

    def retype(self, ctxt: rpcapi.RPCContext, spec: JSON) -> None:
        """Same backend: the data stays where it is and only the type changes, unless
        the driver must lay the volume out for the new type (qcow2 to multiattach)."""
        retype = RetypeSpec.from_primitive(spec)
        with self.lock(retype.volume_id):
            volume = volume_ops.get(self.deps.db, retype.volume_id)
            if volume is None or volume.status != "retyping":
                volume_ops.rollback(self.deps.db, retype.reservations)
                return
            ref = VolumeRef(
                volume.id, volume.size, volume.provider_location,
                multiattach=volume_ops.type_is_multiattach(self.deps.db, retype.new_type_id),
            )  # fmt: skip
            try:
                location = self.driver.retype(ref)
            except Exception:  # upstream: the volume keeps its type and status
                LOG.exception("volume %s: retype failed", volume.id)
                volume_ops.retype_failed(
                    self.deps.db, volume.id, retype.reservations, retype.previous_status
                )
                self.deps.changed(retype.volume_id)
                return
            volume_ops.retyped(
                self.deps.db, retype.volume_id, retype.new_type_id, retype.reservations,
                retype.previous_status, location,
            )  # fmt: skip
        self.deps.changed(retype.volume_id)

    # -- upload to image ----------------------------------------------------------------------
    def upload_image(self, ctxt: rpcapi.RPCContext, upload: JSON) -> None:
        ctx = CallContext.from_dict(ctxt)
        request = ImageUpload.from_primitive(upload)
        with self.lock(request.volume_id):
            volume = volume_ops.get(self.deps.db, request.volume_id)
            if volume is None or volume.status != "uploading":
                return
            try:
                self.images.upload(ctx, volume, request)
            except Exception:
                LOG.exception("volume %s: upload to image %s failed", volume.id, request.image_id)
                self.images.discard(ctx, request.image_id)
                volume_ops.mark_failed(
                    self.deps.db, volume.id, status=request.previous_status,
                    action=messages.COPY_VOLUME_TO_IMAGE,
                    detail=messages.FAILED_TO_UPLOAD_VOLUME,
                    request_id=ctx.request_id, ttl=self.ttl,
                )  # fmt: skip
            else:
                volume_ops.set_status(
                    self.deps.db, volume.id, request.previous_status, expected=("uploading",)
                )
        self.deps.changed(request.volume_id)
