"""The agent context: what every operation family of one compute host's agent shares.

One :class:`AgentContext` per host: its name and node, its driver, the service's
:class:`Deps` (database, options, clients, the conductor and agent RPC clients), the
per-instance locks and the external-event waiters. The families (``build.py``,
``power.py``, ``images.py``, ``migrate.py``, ``devices.py``, ``recovery.py``) each hold
the context and nothing else; the RPC endpoint (``manager.py``) delegates to them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy.orm import Session

from tinystack.common.clients.session import ClientError
from tinystack.compute import exception, models
from tinystack.compute.agent.events import EventWaiters
from tinystack.compute.context import CallContext
from tinystack.compute.objects import InstanceMeta
from tinystack.compute.services import availability_zones, instance_actions, instances
from tinystack.compute.services.deps import Deps
from tinystack.compute.virt.driver import ComputeDriver

LOG = logging.getLogger(__name__)


class OperationFailed(Exception):
    """Raised inside an operation to end it with a recorded failure but no traceback log."""


class InstanceChanges(TypedDict, total=False):
    """The columns of an instance that the agent's operations write."""

    vm_state: str
    task_state: str | None
    power_state: int
    host: str | None
    node: str | None
    launched_at: datetime
    network_info: list[dict[str, Any]]
    system_metadata: dict[str, Any]
    flavor: dict[str, Any]
    flavorid: str
    vcpus: int
    memory_mb: int
    old_flavor: dict[str, Any] | None
    new_flavor: dict[str, Any] | None


class InstanceLocks:
    """Operations on one instance run one at a time, as upstream's per-instance lock."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @contextlib.contextmanager
    def hold(self, uuid: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(uuid, threading.Lock())
        with lock:
            yield
        with self._guard:
            if not lock.locked() and self._locks.get(uuid) is lock:
                self._locks.pop(uuid, None)


@dataclass
class AgentContext:
    """One compute host's agent state, shared by its operation families."""

    deps: Deps
    host: str
    node_uuid: str
    driver: ComputeDriver
    waiters: EventWaiters = field(default_factory=EventWaiters)
    locks: InstanceLocks = field(default_factory=InstanceLocks)

    # -- helpers -------------------------------------------------------------------------------
    def zone(self) -> str:
        """This host's availability zone (cached briefly)."""
        found = self.deps.zone_cache.get(self.host)
        if found is None:
            found = availability_zones.zone_of(
                self.deps.db, self.host, self.deps.opts.default_availability_zone
            )
            self.deps.zone_cache.put(self.host, found)
        return str(found)

    def load(self, uuid: str, *, read_deleted: bool = False) -> models.Instance:
        return instances.get(self.deps.db, uuid, read_deleted=read_deleted)

    def meta(self, inst: models.Instance) -> InstanceMeta:
        """The instance as the driver sees it (named by ``instance_name_template``)."""
        meta = instances.meta(inst)
        template = self.deps.opts.instance_name_template
        return dataclasses.replace(meta, name=instances.instance_name(inst, template))

    def save(self, uuid: str, updates: InstanceChanges, **expected: Any) -> models.Instance:
        return instances.save(self.deps.db, uuid, dict(updates), **expected)

    def power_state(self, ctx: CallContext, inst: models.Instance) -> int:
        try:
            return self.driver.get_info(ctx, self.meta(inst)).power_state
        except Exception:
            return 0

    @contextlib.contextmanager
    def operation(
        self,
        ctx: CallContext,
        uuid: str,
        event: str,
        *,
        revert_task_state: bool = True,
        reraise: bool = False,
    ) -> Iterator[CallContext]:
        """Run one instance operation: locked, recorded as an action event, faults on error."""
        with self.locks.hold(uuid):
            try:
                with instance_actions.record(self.deps.db, ctx, uuid, event, self.host):
                    yield ctx
            except exception.InstanceNotFound:
                LOG.info("%s: instance %s is gone", event, uuid)
                if reraise:
                    raise
            except Exception as exc:
                if not isinstance(exc, OperationFailed):
                    LOG.exception("%s failed for %s on %s", event, uuid, self.host)
                self.record_fault(uuid, exc, revert_task_state=revert_task_state)
                if reraise:
                    raise
            finally:
                self.deps.changed(uuid)

    def finish_operation(
        self,
        ctx: CallContext,
        uuid: str,
        updates: InstanceChanges,
        expected_task_state: Any,
    ) -> None:
        """Apply the final state and close the action in one write."""

        def write(session: Session) -> None:
            instances.save_in(
                session,
                uuid,
                {"task_state": None, **updates},
                expected_task_state=expected_task_state,
            )
            instance_actions.finish(session, ctx, uuid)

        self.deps.db.write(write)

    def record_fault(
        self, uuid: str, exc: BaseException, *, revert_task_state: bool = True
    ) -> None:
        def write(session: Any) -> None:
            if revert_task_state:
                try:
                    instances.save_in(session, uuid, {"task_state": None})
                except exception.InstanceNotFound:
                    return
            instances.add_fault(session, uuid, exc, host=self.host)

        try:
            self.deps.db.write(write)
        except Exception:
            LOG.exception("cannot record the fault of %s", uuid)

    def delete_allocations(self, consumer: str) -> None:
        try:
            self.deps.placement.delete_allocations(consumer)
        except ClientError as exc:
            LOG.warning("cannot remove the allocations of %s: %s", consumer, exc)
