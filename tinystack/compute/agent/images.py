"""Image operations: snapshots (createImage, shelve), shelve offload, unshelve, rebuild."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from tinystack.common.clients.session import ClientError
from tinystack.common.rpc.context import CallContext
from tinystack.common.timeutils import utcnow
from tinystack.compute import exception, states
from tinystack.compute.agent.context import AgentContext
from tinystack.compute.agent.volumes import VolumeOps
from tinystack.compute.objects import ImageMeta, InstanceMeta
from tinystack.compute.virt.driver import SnapshotRefused, SnapshotTarget

LOG = logging.getLogger(__name__)
T = states.Task


class ImageOps:
    """Snapshots, shelve, unshelve and rebuild."""

    def __init__(self, agent: AgentContext, volumes: VolumeOps) -> None:
        self.agent = agent
        self.volumes = volumes

    def _upload_snapshot(
        self, ctx: CallContext, uuid: str, image_id: str, pending: str, uploading: str
    ) -> None:
        inst = self.agent.save(uuid, {"task_state": pending})

        def publish(location: str) -> None:
            """The driver made the image's data in the image store: hand its location over
            (back to ``pending`` when refused: the driver uploads the data instead)."""
            self.agent.save(uuid, {"task_state": uploading}, expected_task_state=[pending])
            try:
                self._set_formats(image_id, "raw", "bare")
                self.agent.deps.image.add_location(image_id, location)
            except ClientError as exc:
                if exc.status not in (400, 403, 404, 409, 501):
                    raise
                self.agent.save(uuid, {"task_state": pending}, expected_task_state=[uploading])
                raise SnapshotRefused(f"the image service refused {location}: {exc}") from exc

        data = self.agent.driver.snapshot(ctx, inst.meta, SnapshotTarget(image_id, publish))
        if data is None:  # published in place
            return
        self.agent.save(uuid, {"task_state": uploading}, expected_task_state=[pending])
        self._set_formats(image_id, data.disk_format, data.container_format)
        self.agent.deps.image.upload(image_id, b"".join(data.chunks))

    def _set_formats(self, image_id: str, disk_format: str, container_format: str) -> None:
        image = self.agent.deps.image.get(image_id)
        if image is not None and image.get("disk_format") != disk_format:
            self.agent.deps.image.update(
                image_id,
                [
                    {"op": "replace", "path": "/disk_format", "value": disk_format},
                    {"op": "replace", "path": "/container_format", "value": container_format},
                ],
            )

    def snapshot_instance(
        self,
        ctx: CallContext,
        instance_uuid: str,
        image_id: str,
        backup_type: str | None = None,
        rotation: int | None = None,
    ) -> None:
        """createImage, or createBackup when ``rotation`` is given."""
        ok = False
        event = "compute_snapshot_instance" if rotation is None else "compute_backup_instance"
        with self.agent.operation(ctx, instance_uuid, event) as ctx:
            self._upload_snapshot(
                ctx, instance_uuid, image_id, T.IMAGE_PENDING_UPLOAD, T.IMAGE_UPLOADING
            )
            self.agent.finish_operation(ctx, instance_uuid, {}, [T.IMAGE_UPLOADING])
            ok = True
        if not ok:
            self._drop_image(image_id)
        elif rotation is not None:
            token = ctx.token
            self._rotate_backups(instance_uuid, backup_type or "", rotation, token)

    def _rotate_backups(
        self, uuid: str, backup_type: str, rotation: int, token: str | None
    ) -> None:
        """Delete this instance's oldest backups of ``backup_type`` beyond ``rotation``."""
        filters = {
            "instance_uuid": uuid,
            "image_type": "backup",
            "backup_type": backup_type,
            "sort_key": "created_at",
            "sort_dir": "desc",
        }
        try:
            images = self.agent.deps.image.list_images(filters, token=token)
        except ClientError as exc:
            LOG.warning("cannot list the backups of %s: %s", uuid, exc)
            return
        for image in images[rotation:]:
            try:
                self.agent.deps.image.delete(str(image["id"]), token=token)
            except ClientError as exc:
                LOG.warning("cannot delete backup %s: %s", image["id"], exc)

    def _drop_image(self, image_id: str | None) -> None:
        if not image_id:
            return
        try:
            self.agent.deps.image.delete(image_id)
        except ClientError as exc:
            LOG.warning("cannot delete image %s: %s", image_id, exc)

    # -- shelve --------------------------------------------------------------------------------
    def shelve_instance(
        self,
        ctx: CallContext,
        instance_uuid: str,
        image_id: str,
        clean_shutdown: bool = True,
        offload: bool = True,
    ) -> None:
        shelved = False
        with self.agent.operation(ctx, instance_uuid, "compute_shelve_instance") as ctx:
            inst = self.agent.load(instance_uuid)
            self.agent.driver.power_off(ctx, inst.meta, timeout=60 if clean_shutdown else 0)
            self._upload_snapshot(
                ctx,
                instance_uuid,
                image_id,
                T.SHELVING_IMAGE_PENDING_UPLOAD,
                T.SHELVING_IMAGE_UPLOADING,
            )
            sysmeta = dict(inst.system_metadata or {})
            sysmeta.update(
                shelved_at=utcnow().isoformat(),
                shelved_image_id=image_id,
                shelved_host=self.agent.host,
            )
            self.agent.finish_operation(
                ctx,
                instance_uuid,
                {
                    "vm_state": states.SHELVED,
                    "power_state": states.SHUTDOWN,
                    "system_metadata": sysmeta,
                },
                [T.SHELVING_IMAGE_UPLOADING],
            )
            shelved = True
        if not shelved:
            self._drop_image(image_id)
        elif offload:
            self.agent.save(
                instance_uuid,
                {"task_state": T.SHELVING_OFFLOADING},
                expected_task_state=[None],
                expected_vm_state=[states.SHELVED],
            )
            self.shelve_offload_instance(ctx, instance_uuid)

    def shelve_offload_instance(self, ctx: CallContext, instance_uuid: str) -> None:
        with self.agent.operation(ctx, instance_uuid, "compute_shelve_offload_instance") as ctx:
            inst = self.agent.load(instance_uuid)
            if inst.vm_state != states.SHELVED:  # a volume-backed server shelves at once
                self.agent.driver.power_off(ctx, inst.meta, timeout=60)
            self.agent.driver.destroy(ctx, inst.meta, inst.vifs)
            self.volumes.release_connections(ctx, inst)
            self._unbind_ports(inst.network_info or [])
            self.agent.delete_allocations(instance_uuid)
            self.agent.finish_operation(
                ctx,
                instance_uuid,
                {
                    "vm_state": states.SHELVED_OFFLOADED,
                    "power_state": states.SHUTDOWN,
                    "host": None,
                    "node": None,
                },
                [T.SHELVING_OFFLOADING],
            )

    def _unbind_ports(self, vifs: list[dict[str, Any]]) -> None:
        if not self.agent.deps.network.available():
            return
        for vif in vifs:
            try:
                self.agent.deps.network.update_port(vif["id"], {"binding:host_id": ""})
            except ClientError as exc:
                LOG.warning("cannot unbind port %s: %s", vif.get("id"), exc)

    def unshelve_instance(self, ctx: CallContext, instance_uuid: str) -> None:
        """Spawn a shelved-offloaded instance from its snapshot (the conductor placed it)."""
        with self.agent.operation(ctx, instance_uuid, "compute_unshelve_instance") as ctx:
            inst = self.agent.load(instance_uuid)
            sysmeta = dict(inst.system_metadata or {})
            image_id = sysmeta.pop("shelved_image_id", None)
            for key in ("shelved_at", "shelved_host"):
                sysmeta.pop(key, None)
            for vif in inst.network_info or []:
                if self.agent.deps.network.available():
                    self.agent.deps.network.update_port(
                        vif["id"], {"binding:host_id": self.agent.host}
                    )
            self.agent.save(
                instance_uuid, {"task_state": T.SPAWNING}, expected_task_state=[T.UNSHELVING]
            )
            block_devices = self.volumes.prepare_boot(ctx, inst)
            meta = self._from_shelved_image(inst.meta, image_id)
            self.agent.driver.spawn(ctx, meta, inst.vifs, None, block_devices)
            self.agent.finish_operation(
                ctx,
                instance_uuid,
                {
                    "vm_state": states.ACTIVE,
                    "power_state": self.agent.power_state(ctx, inst),
                    "system_metadata": sysmeta,
                },
                [T.SPAWNING],
            )
        self._drop_image(image_id)

    def _from_shelved_image(self, meta: InstanceMeta, image_id: str | None) -> InstanceMeta:
        """The instance as the driver spawns it on unshelve: from the snapshot its shelve
        took (its disk as it was), as upstream; the instance keeps its own image after.
        A volume-backed server (no snapshot) boots from its volume."""
        if not image_id or meta.image is None:
            return meta
        image = self.agent.deps.image.get(image_id)
        if image is None:
            raise exception.ImageNotFound(image_id)
        return replace(meta, image=ImageMeta(
            id=image_id,
            name=str(image.get("name") or ""),
            disk_format=image.get("disk_format"),
            container_format=image.get("container_format"),
            size=int(image.get("size") or 0),
            min_disk=int(image.get("min_disk") or 0),
            min_ram=int(image.get("min_ram") or 0),
            properties=meta.image.properties,
        ))  # fmt: skip

    def unshelve_on_host(self, ctx: CallContext, instance_uuid: str) -> None:
        """Unshelve an instance that was shelved but never offloaded: power it on."""
        with self.agent.operation(ctx, instance_uuid, "compute_unshelve_instance") as ctx:
            inst = self.agent.load(instance_uuid)
            sysmeta = dict(inst.system_metadata or {})
            image_id = sysmeta.pop("shelved_image_id", None)
            for key in ("shelved_at", "shelved_host"):
                sysmeta.pop(key, None)
            self.agent.driver.power_on(ctx, inst.meta, inst.vifs)
            self.agent.finish_operation(
                ctx,
                instance_uuid,
                {
                    "vm_state": states.ACTIVE,
                    "power_state": self.agent.power_state(ctx, inst),
                    "system_metadata": sysmeta,
                },
                [T.UNSHELVING],
            )
        self._drop_image(image_id)

    # -- rebuild -------------------------------------------------------------------------------
    def rebuild_instance(
        self,
        ctx: CallContext,
        instance_uuid: str,
        orig_vm_state: str,
        admin_password: str | None = None,
        reimage_image_id: str | None = None,
        reimage_timeout: float = 0.0,
    ) -> None:
        """Rebuild from the instance's image; a volume-backed server with a new image
        (``reimage_image_id``, 2.93) has its root volume re-imaged first."""
        with self.agent.operation(ctx, instance_uuid, "compute_rebuild_instance") as ctx:
            if reimage_image_id:
                self._rebuild_volume_backed(
                    ctx, instance_uuid, reimage_image_id, reimage_timeout, admin_password
                )
            else:
                self.agent.save(
                    instance_uuid,
                    {"task_state": T.REBUILD_SPAWNING},
                    expected_task_state=[T.REBUILDING],
                )
            inst = self.agent.load(instance_uuid)
            if not reimage_image_id:
                self.agent.driver.rebuild(ctx, inst.meta, inst.vifs, admin_password)
            vm_state = states.ACTIVE
            if orig_vm_state == states.STOPPED:
                self.agent.driver.power_off(ctx, inst.meta)
                vm_state = states.STOPPED
            vifs = self.agent.store.refresh_ports(inst) if inst.network_info else []
            self.agent.finish_operation(
                ctx,
                instance_uuid,
                {
                    "vm_state": vm_state,
                    "power_state": self.agent.power_state(ctx, inst),
                    "launched_at": utcnow(),
                    "network_info": vifs,
                },
                [T.REBUILD_SPAWNING],
            )

    def _rebuild_volume_backed(
        self,
        ctx: CallContext,
        uuid: str,
        image_id: str,
        timeout: float,
        admin_password: str | None,
    ) -> None:
        """Nova's reimage_boot_volume path: the guest goes, the root volume gets the image
        (``volume-reimaged``), the guest is spawned again on its volumes. A failure leaves
        the server in ERROR (a rebuild with a fitting image may follow)."""
        inst = self.agent.load(uuid)
        try:
            self.agent.driver.destroy(ctx, inst.meta, inst.vifs, destroy_disks=True)
            self.agent.save(
                uuid,
                {"task_state": T.REBUILD_BLOCK_DEVICE_MAPPING},
                expected_task_state=[T.REBUILDING],
            )
            block_devices = self.volumes.reimage_root(ctx, inst, image_id, timeout)
        except exception.BuildAbort:
            self.agent.save(uuid, {"vm_state": states.ERROR, "power_state": states.NOSTATE})
            raise
        inst = self.agent.save(
            uuid,
            {"task_state": T.REBUILD_SPAWNING},
            expected_task_state=[T.REBUILD_BLOCK_DEVICE_MAPPING],
        )
        self.agent.driver.spawn(ctx, inst.meta, inst.vifs, admin_password, block_devices)
