"""Evacuation, agent side: the destination rebuilds the server (``evacuate_instance``);
the source, when its agent starts again, destroys what it still has of servers evacuated
away from it instead of starting them (``clean_up_evacuated``, as upstream's
``_destroy_evacuated_instances``)."""

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
        if evac.on_shared_storage:
            # no driver here shares instance directories between hosts
            raise exception.InvalidSharedStorage(
                f"Invalid state of instance files on shared storage: {agent.host} does not "
                "see the instance's disks"
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
        agent.driver.spawn(ctx, inst.meta, inst.vifs, evac.admin_password)
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
        (they run elsewhere now), release what their migrations held here and mark the
        migrations ``completed``."""
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
                self.agent.driver.destroy(ctx, inst.meta, [])
            except Exception:
                LOG.exception("cannot destroy evacuated instance %s", inst.uuid)
                continue
            self.agent.delete_allocations(mig.uuid)
            if mig.status == "done" or inst.deleted:
                self.agent.store.update_migration(mig.uuid, {"status": "completed"})
