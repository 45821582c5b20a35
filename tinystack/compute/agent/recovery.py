"""Start-up recovery and the periodic power state sync of one compute host."""

from __future__ import annotations

import logging
from typing import Any

from tinystack.compute import exception, models, states
from tinystack.compute.agent import build
from tinystack.compute.agent.context import AgentContext, InstanceChanges
from tinystack.compute.context import CallContext
from tinystack.compute.services import instances

LOG = logging.getLogger(__name__)


class RecoveryOps:
    """Bring the database and the hypervisor back in line (not RPC: the agent group calls it)."""

    def __init__(self, agent: AgentContext) -> None:
        self.agent = agent

    def recover(self, rows: list[models.Instance]) -> None:
        """Bring instances the database places here back in line after a restart.

        Builds that were under way fail (ERROR, allocations removed); deletes finish;
        other interrupted operations lose their task state; the driver re-attaches to
        what should be running.
        """
        ctx = CallContext.internal()
        for inst in rows:
            try:
                self._recover_one(ctx, inst)
            except Exception:
                LOG.exception("cannot recover instance %s on %s", inst.uuid, self.agent.host)

    def _recover_one(self, ctx: CallContext, inst: models.Instance) -> None:
        if inst.vm_state == states.BUILDING:
            error = exception.RescheduledBuild(
                "The compute service restarted while the instance was building."
            )
            self.agent.driver.destroy(ctx, self.agent.meta(inst), [])
            self.agent.delete_allocations(inst.uuid)

            def write(session: Any) -> None:
                instances.save_in(
                    session, inst.uuid, {"vm_state": states.ERROR, "task_state": None}
                )
                instances.add_fault(session, inst.uuid, error, host=self.agent.host, code=500)

            self.agent.deps.db.write(write)
            return
        if inst.task_state == states.Task.DELETING:
            self.agent.driver.destroy(ctx, self.agent.meta(inst), instances.vifs(inst))
            self.agent.delete_allocations(inst.uuid)
            build.mark_deleted(self.agent.deps.db, ctx, inst.uuid)
            return
        self.agent.driver.recover_instance(ctx, self.agent.meta(inst), inst.power_state)
        if inst.task_state is not None:
            self.agent.save(inst.uuid, {"task_state": None})

    # -- periodic: power state sync ------------------------------------------------------------
    def sync_power_states(self, rows: list[models.Instance]) -> None:
        ctx = CallContext.internal()
        for inst in rows:
            if inst.task_state is not None:
                continue
            try:
                power = self.agent.driver.get_info(ctx, self.agent.meta(inst)).power_state
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
