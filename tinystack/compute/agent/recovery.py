"""Start-up recovery, lost builds and the periodic power state sync of one compute host."""

from __future__ import annotations

import logging

from tinystack.common.rpc.context import CallContext
from tinystack.compute import exception, states
from tinystack.compute.agent import build
from tinystack.compute.agent.context import AgentContext
from tinystack.compute.agent.live_migrate import recover as recover_live_migration
from tinystack.compute.agent.volumes import VolumeOps
from tinystack.compute.objects import AgentInstance, InstanceChanges

LOG = logging.getLogger(__name__)


class RecoveryOps:
    """Bring the database and the hypervisor back in line (not RPC: the agent group calls it)."""

    def __init__(self, agent: AgentContext, volumes: VolumeOps) -> None:
        self.agent = agent
        self.volumes = volumes

    def recover(self, rows: list[AgentInstance]) -> None:
        """Bring instances the database places here back in line after a restart.

        Builds that were under way fail (ERROR, allocations removed); deletes finish;
        other interrupted operations lose their task state; the driver re-attaches to
        what should be running; unfinished volume attaches and detaches settle in the
        background (``VolumeOps.recover_later``).
        """
        ctx = CallContext.internal()
        for inst in rows:
            try:
                self._recover_one(ctx, inst)
            except Exception:
                LOG.exception("cannot recover instance %s on %s", inst.uuid, self.agent.host)
        self.volumes.recover_later(ctx, rows)

    def fail_lost_builds(self, rows: list[AgentInstance]) -> None:
        """Fail builds no thread runs any more (see ``AgentGroup.fail_lost_builds``)."""
        ctx = CallContext.internal()
        for inst in rows:
            try:
                with self.agent.locks.hold(inst.uuid):
                    now = self.agent.store.load(inst.uuid)  # a build may just have ended
                    if now.vm_state == states.BUILDING and now.host == self.agent.host:
                        LOG.warning("instance %s: build on %s lost to a broker or database "
                                    "fault", inst.uuid, self.agent.host)  # fmt: skip
                        self._fail_build(ctx, now, "The build was lost to a service fault.")
            except exception.InstanceNotFound:
                continue
            except Exception:
                LOG.exception("cannot fail lost build %s on %s", inst.uuid, self.agent.host)

    def _fail_build(self, ctx: CallContext, inst: AgentInstance, message: str) -> None:
        self.agent.driver.destroy(ctx, inst.meta, [])
        self.agent.delete_allocations(inst.uuid)
        self.agent.store.record_fault(
            inst.uuid,
            exception.RescheduledBuild(message),
            host=self.agent.host,
            changes={"vm_state": states.ERROR, "task_state": None},
            code=500,
        )

    def _recover_one(self, ctx: CallContext, inst: AgentInstance) -> None:
        if inst.vm_state == states.BUILDING:
            self._fail_build(
                ctx, inst, "The compute service restarted while the instance was building."
            )
            return
        if inst.task_state == states.Task.DELETING:
            self.agent.driver.destroy(ctx, inst.meta, inst.vifs)
            self.agent.store.release_instance_ports(ctx, inst)
            self.agent.store.release_volumes(ctx, inst.uuid)
            self.agent.delete_allocations(inst.uuid)
            build.mark_deleted(self.agent.store, ctx, inst.uuid)
            return
        if inst.task_state == states.Task.MIGRATING:
            recover_live_migration(self.agent, ctx, inst)
        else:
            self.agent.driver.recover_instance(ctx, inst.meta, inst.power_state)
        if inst.task_state is not None:
            self.agent.save(inst.uuid, {"task_state": None})

    # -- periodic: power state sync ------------------------------------------------------------
    def sync_power_states(self, rows: list[AgentInstance]) -> None:
        ctx = CallContext.internal()
        for inst in rows:
            if inst.task_state is not None:
                continue
            try:
                power = self.agent.driver.get_info(ctx, inst.meta).power_state
            except Exception:
                power = states.SHUTDOWN if inst.vm_state != states.ERROR else inst.power_state
            if power == inst.power_state:
                continue
            updates: InstanceChanges = {"power_state": power}
            if inst.vm_state == states.ACTIVE and power in (states.SHUTDOWN, states.CRASHED):
                updates["vm_state"] = states.STOPPED
            try:
                self.agent.save(inst.uuid, updates, expected_task_state=[None])
            except (exception.InstanceNotFound, exception.UnexpectedTaskState):
                continue
