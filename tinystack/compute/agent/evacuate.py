"""Evacuation, agent side: the destination rebuilds the server (``evacuate_instance``:
from its image, or from its disks when it sees them on shared storage: a shared
``instances_path``, an RBD root disk; the driver tells them by the ``REBUILD_SPAWNING``
the spawn runs in); the source, when its agent starts again, destroys what it still has of
servers evacuated away from it instead of starting them, keeping the disks on shared
storage the server now runs from (``clean_up_evacuated``, as upstream's
``_destroy_evacuated_instances``: ``destroy_disks`` is false when it sees them), then the
guests it still runs of servers deleted meanwhile (``reap_deleted``)."""

from __future__ import annotations

import logging

from tinystack.common.rpc.context import CallContext
from tinystack.compute import exception, states
from tinystack.compute.agent.context import AgentContext
from tinystack.compute.agent.migrate import bind_ports
from tinystack.compute.objects import Evacuation
from tinystack.compute.virt.driver import DriverNotSupported

LOG = logging.getLogger(__name__)
T = states.Task


class EvacuateOps:
    """Evacuation, both ends."""

    def __init__(self, agent: AgentContext) -> None:
        self.agent = agent

    def evacuate_instance(self, ctx: CallContext, instance_uuid: str, evac: Evacuation) -> None:
        """On the destination: the server now lives here, rebuilt from its image."""
        done = False
        with self.agent.operation(ctx, instance_uuid, "compute_rebuild_instance") as ctx:
            self._rebuild_here(ctx, instance_uuid, evac)
            done = True
        if not done:
            self._failed(instance_uuid, evac.migration_uuid)

    def _rebuild_here(self, ctx: CallContext, uuid: str, evac: Evacuation) -> None:
        agent = self.agent
        inst = agent.load(uuid)
        orig_vm_state = inst.vm_state
        # as upstream: the disks are shared when this host sees them; before 2.14 the
        # caller said so, and a caller who was wrong is told
        shared = agent.driver.instance_on_disk(ctx, inst.meta)
        if evac.on_shared_storage is not None and evac.on_shared_storage != shared:
            raise exception.InvalidSharedStorage(
                f"Invalid state of instance files on shared storage: {agent.host} "
                f"{'sees' if shared else 'does not see'} the instance's disks"
            )
        if any(b.volume_id for b in agent.store.block_devices(uuid)):
            raise DriverNotSupported("evacuating servers with volumes is not supported")
        mig = agent.store.update_migration(evac.migration_uuid, {"status": "pre-migrating"})
        inst = agent.save(
            uuid,
            {"host": agent.host, "node": mig.dest_node, "task_state": T.REBUILD_SPAWNING},
            expected_task_state=[T.REBUILDING],
        )
        bind_ports(agent, inst, agent.host)
        vifs = agent.store.refresh_ports(inst) if inst.network_info else []
        inst = agent.save(uuid, {"network_info": vifs})
        # on shared storage the driver starts the guest from its disks as they are (it
        # knows an evacuation by REBUILD_SPAWNING) and keeps them if the spawn fails
        agent.driver.spawn(ctx, inst.meta, inst.vifs, evac.admin_password)
        how = "its disks kept on shared storage" if shared else "rebuilt from its image"
        LOG.info("evacuated %s to %s, %s", uuid, agent.host, how)
        vm_state = states.ACTIVE
        if evac.stopped or orig_vm_state == states.STOPPED:
            agent.driver.power_off(ctx, inst.meta)
            vm_state = states.STOPPED
        agent.store.finish(
            ctx,
            uuid,
            {
                "vm_state": vm_state,
                "task_state": None,
                "power_state": agent.power_state(ctx, inst),
            },
            expected_task_state=[T.REBUILD_SPAWNING],
            migration=(evac.migration_uuid, "done"),
        )

    def _failed(self, uuid: str, migration_uuid: str) -> None:
        """As upstream: a failed evacuation leaves the server in ERROR."""
        try:
            self.agent.store.update_migration(migration_uuid, {"status": "failed"})
            self.agent.save(uuid, {"vm_state": states.ERROR, "task_state": None})
        except (exception.MigrationNotFound, exception.InstanceNotFound):
            pass

    def clean_up_evacuated(self) -> None:
        """At start-up: destroy the local copies of servers evacuated away from this host
        (they run elsewhere now; their disks on shared storage stay), release what their
        migrations held here and mark the migrations ``completed``."""
        ctx = CallContext.internal()
        for mig in self.agent.store.evacuations_from(self.agent.host):
            try:
                inst = self.agent.load(mig.instance_uuid, read_deleted=True)
            except exception.InstanceNotFound:
                continue
            if inst.host == self.agent.host and not inst.deleted:
                continue  # it never left: the evacuation failed before moving it
            LOG.info("destroying %s, evacuated from %s to %s", inst.uuid, mig.source_host,
                     inst.host)  # fmt: skip
            try:
                # as upstream: the disks this host sees on shared storage are the server's
                # there (a deleted server runs nowhere: its disks go)
                shared = not inst.deleted and self.agent.driver.instance_on_disk(ctx, inst.meta)
                self.agent.driver.destroy(ctx, inst.meta, [], destroy_disks=not shared)
            except Exception:
                LOG.exception("cannot destroy evacuated instance %s", inst.uuid)
                continue
            self.agent.delete_allocations(mig.uuid)
            if mig.status == "done" or inst.deleted:
                self.agent.store.update_migration(mig.uuid, {"status": "completed"})

    def reap_deleted(self) -> None:
        """At start-up, after ``clean_up_evacuated``: the guests this host still runs of
        deleted servers go, disks and all (upstream's ``_cleanup_running_deleted_instances``
        with ``running_deleted_instance_action = reap``). An evacuation that failed on its
        destination leaves one: the server is the destination's (in ERROR), its delete
        runs there, and a ``failed`` migration is not one ``clean_up_evacuated`` destroys
        after. Guests of servers that exist, here or elsewhere, stay."""
        ctx = CallContext.internal()
        for uuid in self.agent.driver.list_instances(ctx):
            try:
                inst = self.agent.load(uuid, read_deleted=True)
            except exception.InstanceNotFound:
                continue  # not this cloud's
            if not inst.deleted:
                continue
            LOG.info("destroying %s: its server was deleted (on %s)", uuid, inst.host)
            try:
                self.agent.driver.destroy(ctx, inst.meta, [], destroy_disks=True)
            except Exception:
                LOG.exception("cannot destroy the guest of deleted server %s", uuid)
