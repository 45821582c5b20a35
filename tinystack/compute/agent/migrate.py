"""Resize and cold migration, agent side: prep (dest), resize (source), finish (dest),
confirm (source), revert (dest) and finish revert (source).

Volumes follow upstream's 3.44 flow: once the guest is off, the host it leaves ends its
attachments, each replaced by a new one without a connector that keeps the volume
reserved (``_terminate_volume_connections``: the source at resize, the destination at
revert); the host it starts on connects them (``_connect_volumes``: this host's connector
on the attachment, the connection info the block storage service answers kept in the
mapping and handed to the driver), and completes them once the guest runs."""

from __future__ import annotations

import logging
from typing import Any

from tinystack.common.clients.session import ClientError
from tinystack.common.rpc.context import CallContext
from tinystack.compute import exception, states
from tinystack.compute.agent.context import AgentContext
from tinystack.compute.agent.volumes import VolumeOps
from tinystack.compute.objects import (
    AgentInstance,
    BlockDevice,
    DiskInfo,
    FlavorMeta,
    InstanceChanges,
)

LOG = logging.getLogger(__name__)
T = states.Task


def _flavor_columns(flavor: dict[str, Any]) -> InstanceChanges:
    """An instance's columns for its (stored copy of a) flavor."""
    return {
        "flavor": flavor,
        "flavorid": flavor["flavorid"],
        "vcpus": flavor["vcpus"],
        "memory_mb": flavor["memory_mb"],
    }


def bind_ports(agent: AgentContext, inst: AgentInstance, host: str) -> None:
    """Bind the instance's ports to ``host`` (its L2 agent wires them there)."""
    if not agent.deps.network.available():
        return
    for vif in inst.network_info or []:
        try:
            agent.deps.network.update_port(vif["id"], {"binding:host_id": host})
        except ClientError as exc:
            LOG.warning("cannot rebind port %s to %s: %s", vif.get("id"), host, exc)


class MigrateOps:
    """Resize and cold migration, both ends."""

    def __init__(self, agent: AgentContext, volumes: VolumeOps) -> None:
        self.agent = agent
        self.volumes = volumes

    def _fail_migration(self, migration_uuid: str) -> None:
        try:
            self.agent.store.update_migration(migration_uuid, {"status": "error"})
        except exception.MigrationNotFound:
            pass

    def _bind_ports(self, inst: AgentInstance, host: str) -> None:
        bind_ports(self.agent, inst, host)

    def prep_resize(
        self,
        ctx: CallContext,
        instance_uuid: str,
        migration_uuid: str,
        new_flavor: FlavorMeta,
    ) -> None:
        """On the destination: take the migration and ask the source to hand over."""
        done = False
        with self.agent.operation(ctx, instance_uuid, "compute_prep_resize") as ctx:
            inst = self.agent.load(instance_uuid)
            mig = self.agent.store.update_migration(
                migration_uuid,
                {
                    "dest_compute": self.agent.host,
                    "dest_node": self.agent.driver.get_available_resource(ctx).hypervisor_hostname,
                    "dest_host": str(self.agent.deps.opts.my_ip or "127.0.0.1"),
                },
            )
            if not mig.source_host or inst.host is None:
                raise exception.InstanceInvalidState("resize", instance_uuid, "host", None)
            self.agent.deps.agents.resize_instance(
                ctx, inst.host, instance_uuid, migration_uuid, new_flavor
            )
            done = True
        if not done:
            self._fail_migration(migration_uuid)

    def resize_instance(
        self,
        ctx: CallContext,
        instance_uuid: str,
        migration_uuid: str,
        new_flavor: FlavorMeta,
    ) -> None:
        """On the source: power off and hand the disks to the destination."""
        done = False
        with self.agent.operation(ctx, instance_uuid, "compute_resize_instance") as ctx:
            mig = self.agent.store.update_migration(migration_uuid, {"status": "migrating"})
            inst = self.agent.save(
                instance_uuid,
                {"task_state": T.RESIZE_MIGRATING},
                expected_task_state=[T.RESIZE_PREP],
            )
            handed_over = self.agent.driver.migrate_disk_and_power_off(
                ctx,
                inst.meta,
                mig,
                new_flavor,
                inst.vifs,
            )
            self._terminate_volume_connections(ctx, inst)
            self.agent.store.update_migration(migration_uuid, {"status": "post-migrating"})
            self.agent.save(
                instance_uuid,
                {"task_state": T.RESIZE_MIGRATED},
                expected_task_state=[T.RESIZE_MIGRATING],
            )
            self.agent.deps.agents.finish_resize(
                ctx,
                mig.dest_host or self.agent.host,
                instance_uuid,
                migration_uuid,
                DiskInfo(handed_over),
                new_flavor,
            )
            done = True
        if not done:
            self._fail_migration(migration_uuid)

    def finish_resize(
        self,
        ctx: CallContext,
        instance_uuid: str,
        migration_uuid: str,
        disk_info: DiskInfo,
        new_flavor: FlavorMeta,
    ) -> None:
        """On the destination: the instance now lives here, with its new flavor."""
        done = False
        with self.agent.operation(ctx, instance_uuid, "compute_finish_resize") as ctx:
            inst = self.agent.load(instance_uuid)
            mig = self.agent.store.migration(migration_uuid)
            old_flavor = dict(inst.flavor)
            old_vm_state = inst.vm_state
            sysmeta = {**(inst.system_metadata or {}), "old_vm_state": old_vm_state}
            inst = self.agent.save(
                instance_uuid,
                {
                    "task_state": T.RESIZE_FINISH,
                    "host": self.agent.host,
                    "node": mig.dest_node,
                    "old_flavor": old_flavor,
                    "new_flavor": new_flavor.to_dict(),
                    "system_metadata": sysmeta,
                    **_flavor_columns(new_flavor.to_dict()),
                },
                expected_task_state=[T.RESIZE_MIGRATED],
            )
            self._bind_ports(inst, self.agent.host)
            power_on = old_vm_state != states.STOPPED
            bdms = self._connect_volumes(ctx, inst)
            self.agent.driver.finish_migration(
                ctx, inst.meta, mig, disk_info.data, inst.vifs, power_on, bdms
            )
            self._complete_volume_attachments(ctx, bdms)
            self.agent.store.finish(
                ctx,
                instance_uuid,
                {
                    "vm_state": states.RESIZED,
                    "task_state": None,
                    "power_state": self.agent.power_state(ctx, inst),
                },
                expected_task_state=[T.RESIZE_FINISH],
                migration=(migration_uuid, "finished"),
            )
            done = True
        if not done:
            self._fail_migration(migration_uuid)

    def confirm_resize(self, ctx: CallContext, instance_uuid: str, migration_uuid: str) -> None:
        """On the source: forget the old copy and release its resources."""
        with self.agent.operation(ctx, instance_uuid, "compute_confirm_resize") as ctx:
            # a resized server being deleted is confirmed too (it may be gone already)
            inst = self.agent.load(instance_uuid, read_deleted=True)
            mig = self.agent.store.migration(migration_uuid)
            self.agent.driver.confirm_migration(ctx, inst.meta, mig, inst.vifs)
            self.agent.delete_allocations(migration_uuid)
            if inst.deleted or inst.task_state == T.DELETING:
                self.agent.store.update_migration(migration_uuid, {"status": "confirmed"})
                return
            old_vm_state = (inst.system_metadata or {}).get("old_vm_state")
            sysmeta = {k: v for k, v in (inst.system_metadata or {}).items() if k != "old_vm_state"}
            vm_state = states.STOPPED if old_vm_state == states.STOPPED else states.ACTIVE
            self.agent.store.finish(
                ctx,
                instance_uuid,
                {
                    "vm_state": vm_state,
                    "task_state": None,
                    "old_flavor": None,
                    "new_flavor": None,
                    "system_metadata": sysmeta,
                },
                migration=(migration_uuid, "confirmed"),
            )

    def revert_resize(self, ctx: CallContext, instance_uuid: str, migration_uuid: str) -> None:
        """On the destination: drop the new copy and hand back to the source."""
        with self.agent.operation(ctx, instance_uuid, "compute_revert_resize") as ctx:
            inst = self.agent.load(instance_uuid)
            mig = self.agent.store.migration(migration_uuid)
            self.agent.driver.destroy(ctx, inst.meta, inst.vifs)
            self._terminate_volume_connections(ctx, inst)
            self.agent.deps.agents.finish_revert_resize(
                ctx, mig.source_host or self.agent.host, instance_uuid, migration_uuid
            )

    def finish_revert_resize(
        self, ctx: CallContext, instance_uuid: str, migration_uuid: str
    ) -> None:
        """On the source: the instance is back, with its old flavor and allocations."""
        with self.agent.operation(ctx, instance_uuid, "compute_finish_revert_resize") as ctx:
            inst = self.agent.load(instance_uuid)
            mig = self.agent.store.migration(migration_uuid)
            self._swap_allocations_back(inst, migration_uuid)
            old_flavor = inst.old_flavor or inst.flavor
            old_vm_state = (inst.system_metadata or {}).get("old_vm_state")
            sysmeta = {k: v for k, v in (inst.system_metadata or {}).items() if k != "old_vm_state"}
            inst = self.agent.save(
                instance_uuid,
                {
                    "host": self.agent.host,
                    "node": mig.source_node,
                    "old_flavor": None,
                    "new_flavor": None,
                    "system_metadata": sysmeta,
                    **_flavor_columns(old_flavor),
                },
            )
            self._bind_ports(inst, self.agent.host)
            power_on = old_vm_state != states.STOPPED
            bdms = self._connect_volumes(ctx, inst)
            self.agent.driver.finish_revert_migration(
                ctx, inst.meta, mig, inst.vifs, power_on, bdms
            )
            self._complete_volume_attachments(ctx, bdms)
            vm_state = states.ACTIVE if power_on else states.STOPPED
            self.agent.store.finish(
                ctx,
                instance_uuid,
                {
                    "vm_state": vm_state,
                    "task_state": None,
                    "power_state": self.agent.power_state(ctx, inst),
                },
                migration=(migration_uuid, "reverted"),
            )

    # -- volumes -------------------------------------------------------------------------------
    def _terminate_volume_connections(self, ctx: CallContext, inst: AgentInstance) -> None:
        """The guest left this host: end its attachments here, keeping the volumes
        reserved for it (upstream's ``_terminate_volume_connections``)."""
        self.volumes.release_connections(ctx, inst)

    def _connect_volumes(self, ctx: CallContext, inst: AgentInstance) -> list[BlockDevice]:
        """This host's connector on each volume's attachment: the block storage service
        exports the volume here; the mappings keep the connection info it answers
        (upstream's ``refresh_conn_info``). The instance's volumes, connected."""
        bdms = [b for b in self.agent.store.block_devices(inst.uuid) if b.volume_id]
        if not bdms:
            return []
        client = self.volumes.client
        connector = self.agent.driver.get_volume_connector(ctx, inst.meta).to_dict()
        connected = []
        for bdm in bdms:
            volume_id = bdm.volume_id or ""
            attachment_id = bdm.attachment_id
            if not attachment_id:
                attachment_id = client.attachment_create(volume_id, inst.uuid, token=ctx.token).id
            updated = client.attachment_update(
                attachment_id, connector, mountpoint=bdm.device_name, token=ctx.token
            )
            info = dict(updated.connection_info)
            info.setdefault("serial", volume_id)
            if client.get(volume_id, token=ctx.token).multiattach:
                info["multiattach"] = True  # plugged share-rw, as an attach does
            connected.append(
                self.agent.store.update_block_device(
                    bdm.uuid, {"attachment_id": attachment_id, "connection_info": info}
                )
            )
        return connected

    def _complete_volume_attachments(self, ctx: CallContext, bdms: list[BlockDevice]) -> None:
        """The guest runs with its volumes here: they are in-use (``os-complete``)."""
        for bdm in bdms:
            if bdm.attachment_id:
                self.volumes.client.attachment_complete(bdm.attachment_id, token=ctx.token)

    def _swap_allocations_back(self, inst: AgentInstance, migration_uuid: str) -> None:
        placement = self.agent.deps.placement
        held = placement.get_allocations(migration_uuid)
        if not held.get("allocations"):
            return
        current = placement.get_allocations(inst.uuid)
        ok = placement.replace_allocations(
            {
                inst.uuid: {
                    "allocations": held["allocations"],
                    "project_id": inst.project_id,
                    "user_id": inst.user_id,
                    "consumer_generation": current.get("consumer_generation"),
                },
                migration_uuid: {
                    "allocations": {},
                    "project_id": held.get("project_id", inst.project_id),
                    "user_id": held.get("user_id", inst.user_id),
                    "consumer_generation": held.get("consumer_generation"),
                    "consumer_type": "MIGRATION",
                },
            }
        )
        if not ok:
            raise exception.ComputeUnavailable("placement refused to restore the allocations")
