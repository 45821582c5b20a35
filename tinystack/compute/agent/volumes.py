"""Volumes on one compute host: attach, detach, swap, extend, and the volumes of a boot.

Connecting a volume is Nova's 3.44 flow, from the reserved attachment the API made:
this host's connector goes to the block storage service (``PUT /attachments/{id}``), which
exports the volume and answers the connection info; the driver plugs it into the guest;
the mapping keeps the connection info; ``os-complete`` makes the volume in-use. A failure
at any step deletes the attachment (the volume is available again) and the API's
mapping. Detaching is the reverse: unplug (on failure the volume goes back from
``detaching`` to in-use), end the attachment, forget the mapping.

A boot from volume creates the volumes compute must make (from an image, a snapshot or
nothing), waits until they are available, reserves and connects them, then spawns.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from tinystack.common.clients.session import ClientError, ClientNotFound
from tinystack.common.clients.volume import (
    EXTEND_NEW_SIZE,
    Volume,
    VolumeClient,
    VolumeNotReady,
)
from tinystack.common.exceptions import TinystackError
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.compute import exception, states
from tinystack.compute.agent.context import AgentContext
from tinystack.compute.objects import AgentInstance, BlockDevice
from tinystack.compute.virt.driver import DriverError, InstanceNotOnHost

LOG = logging.getLogger(__name__)
GiB = 1024**3


class VolumeOps:
    """Attach, detach, swap and extend volumes; prepare the volumes of a boot."""

    def __init__(self, agent: AgentContext) -> None:
        self.agent = agent

    @property
    def client(self) -> VolumeClient:
        return self.agent.deps.volume

    # -- attach and detach ---------------------------------------------------------------------
    def check_attach(self, volume_id: str, *, multiattach: bool, tagged: bool) -> None:
        """Refuse what this host's driver cannot attach, before anything is reserved."""
        capabilities = self.agent.driver.capabilities
        if tagged and not capabilities.get("supports_tagged_attach_volume"):
            raise exception.VolumeTaggedAttachNotSupported()
        if multiattach and not capabilities.get("supports_multiattach"):
            raise exception.MultiattachNotSupported(_not_multiattach(volume_id))

    def attach_volume(self, ctx: CallContext, instance_uuid: str, bdm: BlockDevice) -> None:
        """Connect and plug the reserved volume; on failure the volume is available again
        and the mapping is gone."""
        with self.agent.operation(
            ctx, instance_uuid, "compute_attach_volume", revert_task_state=False
        ) as ctx:
            inst = self.agent.load(instance_uuid)
            try:
                self.connect(ctx, inst, bdm, plug=True)
            except BaseException:
                self._forget(bdm)
                raise

    def connect(
        self, ctx: CallContext, inst: AgentInstance, bdm: BlockDevice, *, plug: bool
    ) -> BlockDevice:
        """Export the volume for this host, plug it (``plug``: into the running guest; a boot
        hands it to spawn instead), keep its connection info, mark it in-use."""
        volume_id = bdm.volume_id or ""
        token = ctx.token
        volume = self.client.get(volume_id, token=token)
        capabilities = self.agent.driver.capabilities
        if volume.multiattach and not capabilities.get("supports_multiattach"):
            raise exception.MultiattachNotSupported(_not_multiattach(volume_id))
        attachment_id = bdm.attachment_id
        if not attachment_id:
            attachment_id = self.client.attachment_create(volume_id, inst.uuid, token=token).id
            bdm = self.agent.store.update_block_device(bdm.uuid, {"attachment_id": attachment_id})
        connector = self.agent.driver.get_volume_connector(ctx, inst.meta).to_dict()
        try:
            attachment = self.client.attachment_update(
                attachment_id, connector, mountpoint=bdm.device_name, token=token
            )
            info: dict[str, JSON] = dict(attachment.connection_info)
            info.setdefault("serial", volume_id)
            if volume.multiattach:
                info["multiattach"] = True
            if plug:
                self.agent.driver.attach_volume(ctx, inst.meta, info, bdm.device_name or "")
        except BaseException:
            self._end_attachment(ctx, attachment_id)
            raise
        bdm = self.agent.store.update_block_device(
            bdm.uuid, {"connection_info": info, "volume_size": volume.size}
        )
        try:
            self.client.attachment_complete(attachment_id, token=token)
        except BaseException:
            if plug:
                self._unplug(ctx, inst, bdm)
            self._end_attachment(ctx, attachment_id)
            raise
        return bdm

    def detach_volume(
        self,
        ctx: CallContext,
        instance_uuid: str,
        volume_id: str,
        attachment_id: str | None = None,
    ) -> None:
        """Unplug the volume and end its attachment (the API marked it detaching)."""
        with self.agent.operation(
            ctx, instance_uuid, "compute_detach_volume", revert_task_state=False
        ) as ctx:
            inst = self.agent.load(instance_uuid)
            bdm = self._mapping(inst.uuid, volume_id)
            if bdm is None:
                LOG.info("%s: volume %s is not mapped any more", instance_uuid, volume_id)
                return
            try:
                self.agent.driver.detach_volume(
                    ctx, inst.meta, dict(bdm.connection_info or {}), bdm.device_name or ""
                )
            except InstanceNotOnHost:
                LOG.warning("detaching volume %s from unknown instance %s", volume_id, inst.uuid)
            except BaseException:
                self._roll_detaching(ctx, volume_id)
                raise
            self._end_attachment(ctx, bdm.attachment_id or attachment_id)
            self._forget(bdm)

    def _unplug(self, ctx: CallContext, inst: AgentInstance, bdm: BlockDevice) -> None:
        try:
            self.agent.driver.detach_volume(
                ctx, inst.meta, dict(bdm.connection_info or {}), bdm.device_name or ""
            )
        except Exception as exc:
            LOG.warning("driver failed to detach volume %s: %s", bdm.volume_id, exc)

    def _mapping(self, uuid: str, volume_id: str) -> BlockDevice | None:
        return next(
            (b for b in self.agent.store.block_devices(uuid) if b.volume_id == volume_id), None
        )

    def _end_attachment(self, ctx: CallContext, attachment_id: str | None) -> None:
        if not attachment_id:
            return
        try:
            self.client.attachment_delete(attachment_id, token=ctx.token)
        except ClientError as exc:
            LOG.warning("cannot delete volume attachment %s: %s", attachment_id, exc)

    def _roll_detaching(self, ctx: CallContext, volume_id: str) -> None:
        try:
            self.client.roll_detaching(volume_id, token=ctx.token)
        except ClientError as exc:
            LOG.warning("cannot roll back the detaching of volume %s: %s", volume_id, exc)

    def _forget(self, bdm: BlockDevice) -> None:
        try:
            self.agent.store.destroy_block_device(bdm.uuid)
        except Exception:
            LOG.exception("cannot forget the mapping of volume %s", bdm.volume_id)

    # -- swap and extend -----------------------------------------------------------------------
    def swap_volume(
        self,
        ctx: CallContext,
        instance_uuid: str,
        bdm: BlockDevice,
        new_volume_id: str,
        new_attachment_id: str,
    ) -> None:
        """Copy the old volume into the new one under the guest, then use the new one (the
        block storage service migrating the volume asked for it, and is told when done)."""
        with self.agent.operation(
            ctx, instance_uuid, "compute_swap_volume", revert_task_state=False
        ) as ctx:
            inst = self.agent.load(instance_uuid)
            token = ctx.token
            old_id = bdm.volume_id or ""
            migrating = self.client.get(old_id, token=token).migration_status == "migrating"
            try:
                new_info = self._swap(ctx, inst, bdm, new_volume_id, new_attachment_id)
            except BaseException:
                self._end_attachment(ctx, new_attachment_id)
                self._roll_detaching(ctx, old_id)
                if migrating:
                    self.client.migrate_volume_completion(
                        old_id, new_volume_id, error=True, token=token
                    )
                raise
            self._end_attachment(ctx, bdm.attachment_id)
            saved = new_volume_id
            if migrating:
                saved = self.client.migrate_volume_completion(old_id, new_volume_id, token=token)
            new_info["serial"] = saved
            size = self.client.get(saved, token=token).size
            self.agent.store.update_block_device(
                bdm.uuid,
                {
                    "volume_id": saved,
                    "attachment_id": new_attachment_id,
                    "connection_info": new_info,
                    "volume_size": size,
                },
            )

    def _swap(
        self,
        ctx: CallContext,
        inst: AgentInstance,
        bdm: BlockDevice,
        new_volume_id: str,
        new_attachment_id: str,
    ) -> dict[str, JSON]:
        connector = self.agent.driver.get_volume_connector(ctx, inst.meta).to_dict()
        attachment = self.client.attachment_update(
            new_attachment_id, connector, mountpoint=bdm.device_name, token=ctx.token
        )
        new_info: dict[str, JSON] = dict(attachment.connection_info)
        new_info.setdefault("serial", new_volume_id)
        self.agent.driver.swap_volume(
            ctx, inst.meta, dict(bdm.connection_info or {}), new_info, bdm.device_name or ""
        )
        self.client.attachment_complete(new_attachment_id, token=ctx.token)
        return new_info

    def extend_volume(self, ctx: CallContext, instance_uuid: str, volume_id: str) -> None:
        """The block storage service grew an attached volume: tell the guest. A volume
        still ``extending`` waits for this host (a file only the guest's QEMU may grow,
        3.71): grow it to the size the service recorded, then send the completion action
        (``error`` true when anything failed, so the service rolls back)."""
        with self.agent.operation(
            ctx, instance_uuid, "compute_extend_volume", revert_task_state=False
        ) as ctx:
            volume = self.client.get(volume_id, token=ctx.token)
            if volume.status != "extending":
                self._extend(ctx, instance_uuid, volume_id, volume.size)
                return
            # the block storage service waits for us (3.71): its new size is in the
            # metadata; whatever happens, it hears back
            self._answer_extend(ctx, instance_uuid, volume)

    def _extend(self, ctx: CallContext, instance_uuid: str, volume_id: str, size: int) -> None:
        inst = self.agent.load(instance_uuid)
        bdm = self._mapping(inst.uuid, volume_id)
        if bdm is None or not bdm.connection_info:
            raise exception.VolumeBDMNotFound(volume_id)
        self.agent.driver.extend_volume(ctx, inst.meta, dict(bdm.connection_info), size * GiB)
        self.agent.store.update_block_device(bdm.uuid, {"volume_size": size})

    # -- assisted snapshots (the block storage service's file volumes) --------------------
    def snapshot_create(
        self, ctx: CallContext, instance_uuid: str, volume_id: str, create_info: dict[str, JSON]
    ) -> None:
        """Have the driver snapshot an attached volume; tell the service how it went
        (as upstream: ``creating`` at 90 % when done, ``error`` when not)."""
        snapshot_id = str(create_info.get("snapshot_id") or "")
        status = self._snapshot_op(
            ctx,
            instance_uuid,
            volume_id,
            lambda inst, info: self.agent.driver.volume_snapshot_create(
                ctx, inst.meta, info, create_info
            ),
        )
        self._snapshot_status(ctx, snapshot_id, "creating" if status else "error")

    def snapshot_delete(
        self,
        ctx: CallContext,
        instance_uuid: str,
        volume_id: str,
        snapshot_id: str,
        delete_info: dict[str, JSON],
    ) -> None:
        """Have the driver merge an assisted snapshot away; tell the service."""
        status = self._snapshot_op(
            ctx,
            instance_uuid,
            volume_id,
            lambda inst, info: self.agent.driver.volume_snapshot_delete(
                ctx, inst.meta, info, snapshot_id, delete_info
            ),
        )
        self._snapshot_status(ctx, snapshot_id, "deleting" if status else "error_deleting")

    def _snapshot_op(
        self,
        ctx: CallContext,
        instance_uuid: str,
        volume_id: str,
        op: Callable[[AgentInstance, dict[str, JSON]], None],
    ) -> bool:
        try:
            inst = self.agent.load(instance_uuid)
            bdm = self._mapping(inst.uuid, volume_id)
            if bdm is None or not bdm.connection_info:
                raise exception.VolumeBDMNotFound(volume_id)
            op(inst, dict(bdm.connection_info))
        except (DriverError, InstanceNotOnHost, TinystackError) as exc:
            LOG.warning(
                "%s: assisted snapshot of volume %s failed: %s", instance_uuid, volume_id, exc
            )
            return False
        return True

    def _snapshot_status(self, ctx: CallContext, snapshot_id: str, status: str) -> None:
        try:
            self.client.update_snapshot_status(snapshot_id, status, "90%", token=ctx.token)
        except ClientError as exc:
            LOG.warning("cannot report status %s of snapshot %s: %s", status, snapshot_id, exc)

    def _complete_extend(self, ctx: CallContext, volume_id: str, *, error: bool) -> None:
        try:
            self.client.extend_volume_completion(volume_id, error=error, token=ctx.token)
        except ClientError as exc:
            LOG.warning("cannot complete the extend of volume %s: %s", volume_id, exc)

    # -- rebuild on a new image (2.93) ---------------------------------------------------------
    def reimage_root(
        self, ctx: CallContext, inst: AgentInstance, image_id: str, timeout: float
    ) -> list[BlockDevice]:
        """Have the block storage service write ``image_id`` into the root volume (the guest
        is gone), wait for its ``volume-reimaged``, connect the volume again; the
        instance's block devices, connected, for the spawn. As upstream, a new attachment
        keeps the volume reserved while the old one (and its export) goes; any failure is
        :class:`exception.BuildAbort`."""
        failed = f"Build of instance {inst.uuid} aborted: Failed to rebuild volume backed instance."
        bdms = self.agent.store.block_devices(inst.uuid)
        root = next((b for b in bdms if b.is_root and b.volume_id), None)
        if root is None:
            raise exception.BuildAbort(failed)
        volume_id = root.volume_id or ""
        token = ctx.token
        try:
            fresh = self.client.attachment_create(volume_id, inst.uuid, token=token)
            self._end_attachment(ctx, root.attachment_id)
        except ClientError as exc:
            LOG.warning("%s: cannot re-attach root volume %s: %s", inst.uuid, volume_id, exc)
            raise exception.BuildAbort(failed) from exc
        root = self.agent.store.update_block_device(
            root.uuid, {"attachment_id": fresh.id, "connection_info": None}
        )
        keys = self.agent.waiters.expect(inst.uuid, [f"volume-reimaged-{volume_id}"])
        try:
            self.client.reimage(volume_id, image_id, reimage_reserved=True, token=token)
        except ClientError as exc:
            self.agent.waiters.cancel(keys)
            LOG.warning("%s: re-image of %s refused: %s", inst.uuid, volume_id, exc)
            raise exception.BuildAbort(failed) from exc
        status = self.agent.waiters.wait(keys, timeout)[keys[0]]
        if status != "completed":
            LOG.warning("%s: re-image of %s: %s", inst.uuid, volume_id, status or "timed out")
            raise exception.BuildAbort(failed)
        try:
            root = self.connect(ctx, inst, root, plug=False)
        except (ClientError, DriverError) as exc:
            raise exception.BuildAbort(failed) from exc
        connected = [b for b in bdms if b.uuid == root.uuid or b.connection_info]
        return [root if b.uuid == root.uuid else b for b in connected]

    # -- the volumes of a boot -----------------------------------------------------------------
    def prepare_boot(self, ctx: CallContext, inst: AgentInstance) -> list[BlockDevice]:
        """Create, await, reserve and connect the instance's volumes for a spawn here.

        Failures are :class:`exception.BuildAbort` (another host would fail the same way)."""
        prepared = []
        for bdm in self.agent.store.block_devices(inst.uuid):
            try:
                if not bdm.volume_id:
                    bdm = self._create(ctx, inst, bdm)
                prepared.append(self.connect(ctx, inst, bdm, plug=False))
            except VolumeNotReady as exc:
                raise exception.BuildAbort(
                    f"Build of instance {inst.uuid} aborted: {exc.message}"
                ) from exc
            except (ClientError, DriverError, exception.MultiattachNotSupported) as exc:
                LOG.warning("%s: volume %s: %s", inst.uuid, bdm.volume_id, exc)
                raise exception.BuildAbort(
                    f"Build of instance {inst.uuid} aborted: Failure prepping block device."
                ) from exc
        return prepared

    def _create(self, ctx: CallContext, inst: AgentInstance, bdm: BlockDevice) -> BlockDevice:
        token = ctx.token
        zone = None if self.agent.deps.opts.cross_az_attach else inst.availability_zone
        size = int(bdm.volume_size or 0)
        if bdm.source_type == "snapshot" and not size and bdm.snapshot_id:
            size = self.client.get_snapshot(bdm.snapshot_id, token=token).size
        volume = self.client.create(
            size,
            token=token,
            name=f"{inst.uuid}-blank-vol" if bdm.source_type == "blank" else "",
            description="",
            image_id=bdm.image_id if bdm.source_type == "image" else None,
            snapshot_id=bdm.snapshot_id if bdm.source_type == "snapshot" else None,
            volume_type=bdm.volume_type,
            availability_zone=zone,
        )
        bdm = self.agent.store.update_block_device(bdm.uuid, {"volume_id": volume.id})
        opts = self.agent.deps.opts
        timeout = max(
            1.0,
            float(opts.block_device_allocate_retries)
            * float(opts.block_device_allocate_retries_interval),
        )
        try:
            self.client.wait_available(volume.id, token=token, timeout=timeout)
        except VolumeNotReady:
            if bdm.delete_on_termination:
                self._delete_volume(ctx, volume.id)
                bdm = self.agent.store.update_block_device(bdm.uuid, {"volume_id": None})
            raise
        attachment = self.client.attachment_create(volume.id, inst.uuid, token=token)
        return self.agent.store.update_block_device(
            bdm.uuid, {"attachment_id": attachment.id, "volume_size": volume.size}
        )

    def _delete_volume(self, ctx: CallContext, volume_id: str) -> None:
        try:
            self.client.delete(volume_id, token=ctx.token)
        except ClientError as exc:
            LOG.warning("cannot delete volume %s: %s", volume_id, exc)

    def release_connections(self, ctx: CallContext, inst: AgentInstance) -> None:
        """Let this host's connections go but keep the volumes reserved for the instance
        (shelve offload, a failed build before another host tries): each attachment is
        replaced by a new one without a connector, as upstream does."""
        for bdm in self.agent.store.block_devices(inst.uuid):
            if not bdm.volume_id or not bdm.attachment_id:
                continue
            try:
                new = self.client.attachment_create(bdm.volume_id, inst.uuid, token=ctx.token)
            except ClientNotFound:
                LOG.warning("%s: volume %s is gone", inst.uuid, bdm.volume_id)
                continue
            self._end_attachment(ctx, bdm.attachment_id)
            self.agent.store.update_block_device(
                bdm.uuid, {"attachment_id": new.id, "connection_info": None}
            )

    # -- restart -------------------------------------------------------------------------------
    def recover_later(self, ctx: CallContext, instances: list[AgentInstance]) -> None:
        """After a restart, settle the volumes of these instances in the background: the
        block storage service may come up after this agent (it starts later in the same
        process), so each instance is retried until that service answers."""
        pending: dict[str, set[str]] = {}
        for inst in instances:
            if inst.vm_state in RECOVERABLE:
                # the mappings of now: attaches that arrive later are not this restart's
                found = {b.uuid for b in self.agent.store.block_devices(inst.uuid)}
                if found:
                    pending[inst.uuid] = found
        if not pending:
            return
        thread = threading.Thread(
            target=self._recover_all,
            args=(ctx, pending),
            name=f"volume-recovery-{self.agent.host}",
            daemon=True,
        )
        thread.start()

    def _recover_all(self, ctx: CallContext, pending: dict[str, set[str]]) -> None:
        deadline = time.monotonic() + RECOVERY_PATIENCE
        while pending:
            left = {}
            for uuid, bdms in pending.items():
                try:
                    with self.agent.locks.hold(uuid):
                        self.recover(ctx, self.agent.load(uuid), bdms)
                except exception.InstanceNotFound:
                    continue
                except ClientError as exc:
                    LOG.info("%s: volumes not settled yet: %s", uuid, exc)
                    left[uuid] = bdms
                except Exception:
                    LOG.exception("cannot settle the volumes of %s", uuid)
            pending = left
            if pending and time.monotonic() > deadline:
                LOG.error("gave up settling the volumes of %s", sorted(pending))
                return
            if pending:
                time.sleep(RECOVERY_RETRY)

    def recover(self, ctx: CallContext, inst: AgentInstance, only: set[str]) -> None:
        """Of the mappings ``only`` names: an attach that never finished is rolled back (its
        volume is available again), a detach that never ran leaves the volume in-use
        again. ClientError when the block storage service cannot be asked (nothing is
        forgotten then)."""
        if inst.vm_state not in RECOVERABLE:
            return
        for bdm in self.agent.store.block_devices(inst.uuid):
            if bdm.uuid not in only or bdm.is_root or not bdm.volume_id:
                continue
            if bdm.connection_info is None:
                LOG.info("%s: rolling back the unfinished attach of %s", inst.uuid, bdm.volume_id)
                self._unplug(ctx, inst, bdm)
                if bdm.attachment_id:
                    self.client.attachment_delete(bdm.attachment_id, token=ctx.token)
                self._forget(bdm)
                continue
            volume = self.client.get(bdm.volume_id, token=ctx.token)
            if volume.status == "detaching":
                self.client.roll_detaching(bdm.volume_id, token=ctx.token)
            elif volume.status == "extending" and EXTEND_NEW_SIZE in volume.metadata:
                # a waiting extend this host may never have answered (3.71)
                self._answer_extend(ctx, inst.uuid, volume)

    def _answer_extend(self, ctx: CallContext, instance_uuid: str, volume: Volume) -> None:
        """Grow the guest's disk to the size a waiting extend recorded and answer the
        block storage service (``error`` true when anything failed)."""
        try:
            size = int(volume.metadata.get(EXTEND_NEW_SIZE, ""))
            if size <= volume.size:
                raise ValueError(f"{EXTEND_NEW_SIZE} {size} is not above {volume.size}")
            self._extend(ctx, instance_uuid, volume.id, size)
        except BaseException:
            self._complete_extend(ctx, volume.id, error=True)
            raise
        self._complete_extend(ctx, volume.id, error=False)


def _not_multiattach(volume_id: str) -> str:
    return f"Volume {volume_id} has 'multiattach' set, which is not supported for this instance."


#: seconds a restarted agent keeps trying to settle volumes, and between its tries
RECOVERY_PATIENCE = 600.0
RECOVERY_RETRY = 2.0
#: the vm_states whose volumes a restart looks at (not building, errored or offloaded ones,
#: whose reserved volumes wait for the instance)
RECOVERABLE = (
    states.ACTIVE,
    states.STOPPED,
    states.PAUSED,
    states.SUSPENDED,
    states.RESIZED,
    states.SHELVED,
    states.RESCUED,
)
