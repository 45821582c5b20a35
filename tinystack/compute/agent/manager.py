"""One compute host's agent: the RPC endpoint assembled from its operation families."""

from __future__ import annotations

import logging
from typing import Any

from tinystack.compute import exception, states
from tinystack.compute.agent import build
from tinystack.compute.agent.build import BuildMixin
from tinystack.compute.agent.devices import DevicesMixin
from tinystack.compute.context import CallContext
from tinystack.compute.services import instances
from tinystack.compute.services.common import Deps
from tinystack.compute.virt.driver import ComputeDriver

LOG = logging.getLogger(__name__)


class ComputeManager(BuildMixin, DevicesMixin):
    """build/delete (``build.py``), power (``power.py``), images and shelve (``images.py``),
    resize and migration (``migrate.py``), consoles, interfaces and events (``devices.py``)."""

    def __init__(self, deps: Deps, host: str, node_uuid: str, driver: ComputeDriver) -> None:
        super().__init__(deps, host, node_uuid, driver)

    # -- start-up recovery ---------------------------------------------------------------------
    def recover(self, rows: list[Any]) -> None:
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
                LOG.exception("cannot recover instance %s on %s", inst.uuid, self.host)

    def _recover_one(self, ctx: CallContext, inst: Any) -> None:
        if inst.vm_state == states.BUILDING:
            error = exception.RescheduledBuild(
                "The compute service restarted while the instance was building."
            )
            self.driver.destroy(ctx, self.meta(inst), [])
            self.delete_allocations(inst.uuid)

            def write(session: Any) -> None:
                instances.save_in(
                    session, inst.uuid, {"vm_state": states.ERROR, "task_state": None}
                )
                instances.add_fault(session, inst.uuid, error, host=self.host, code=500)

            self.deps.db.write(write)
            return
        if inst.task_state == states.Task.DELETING:
            self.driver.destroy(ctx, self.meta(inst), instances.vifs(inst))
            self.delete_allocations(inst.uuid)
            build.mark_deleted(self.deps.db, ctx, inst.uuid)
            return
        self.driver.recover_instance(ctx, self.meta(inst), inst.power_state)
        if inst.task_state is not None:
            self.save(inst.uuid, {"task_state": None})

    # -- periodic: power state sync ------------------------------------------------------------
    def sync_power_states(self, rows: list[Any]) -> None:
        ctx = CallContext.internal()
        for inst in rows:
            if inst.task_state is not None:
                continue
            try:
                power = self.driver.get_info(ctx, self.meta(inst)).power_state
            except Exception:
                power = states.SHUTDOWN if inst.vm_state != states.ERROR else inst.power_state
            if power == inst.power_state:
                continue
            updates: dict[str, Any] = {"power_state": power}
            if inst.vm_state == states.ACTIVE and power in (states.SHUTDOWN, states.CRASHED):
                updates["vm_state"] = states.STOPPED
            try:
                self.save(inst.uuid, updates, expected_task_state=[None])
            except (exception.InstanceNotFound, exception.UnexpectedTaskState):
                continue
