"""The agent context: what every operation family of one compute host's agent shares.

One :class:`AgentContext` per host: its name and node, its driver, the process's
:class:`AgentDeps` (the store, options, clients, the conductor and agent RPC clients), the
per-instance locks and the external-event waiters. The families (``build.py``,
``power.py``, ``images.py``, ``migrate.py``, ``devices.py``, ``recovery.py``) each hold
the context and nothing else; the RPC endpoint (``manager.py``) delegates to them.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tinystack.common.clients.image import ImageClient
from tinystack.common.clients.metric import MetricClient
from tinystack.common.clients.network import NetworkClient
from tinystack.common.clients.placement import PlacementClient
from tinystack.common.clients.session import ClientError
from tinystack.common.clients.volume import VolumeClient
from tinystack.common.notifier import Notifier
from tinystack.common.rpc import Transport
from tinystack.common.rpc.context import CallContext
from tinystack.compute import exception
from tinystack.compute.agent.events import EventWaiters
from tinystack.compute.agent.store import AgentStore, Expected
from tinystack.compute.conf import Options, TelemetryOptions
from tinystack.compute.objects import AgentInstance, InstanceChanges
from tinystack.compute.rpcapi import ComputeAgentAPI, ConductorAPI
from tinystack.compute.virt.driver import ComputeDriver

LOG = logging.getLogger(__name__)


class OperationFailed(Exception):
    """Raised inside an operation to end it with a recorded failure but no traceback log."""


@dataclass(frozen=True)
class AgentDeps:
    """What the compute agents of a process are given by ``service.py``: their store, the
    options, the clients of the other services and workers, and the hook that wakes a
    request lingering on an instance the agent is done with."""

    store: AgentStore
    opts: Options
    placement: PlacementClient
    image: ImageClient
    network: NetworkClient
    volume: VolumeClient
    conductor: ConductorAPI
    agents: ComputeAgentAPI
    transport: Transport
    changed: Callable[[str], None]
    notifier: Notifier
    #: the telemetry poller's client and options (``agent/telemetry.py``)
    metric: MetricClient
    telemetry: TelemetryOptions


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

    def held(self, uuid: str) -> bool:
        """Whether an operation on the instance runs (or waits for its turn)."""
        with self._guard:
            return uuid in self._locks


@dataclass
class AgentContext:
    """One compute host's agent state, shared by its operation families."""

    deps: AgentDeps
    host: str
    node_uuid: str
    driver: ComputeDriver
    waiters: EventWaiters = field(default_factory=EventWaiters)
    locks: InstanceLocks = field(default_factory=InstanceLocks)

    # -- helpers -------------------------------------------------------------------------------
    @property
    def store(self) -> AgentStore:
        return self.deps.store

    def zone(self) -> str:
        """This host's availability zone (cached briefly)."""
        return self.store.zone(self.host)

    def load(self, uuid: str, *, read_deleted: bool = False) -> AgentInstance:
        return self.store.load(uuid, read_deleted=read_deleted)

    def save(
        self,
        uuid: str,
        updates: InstanceChanges,
        *,
        expected_task_state: Expected = None,
        expected_vm_state: Expected = None,
    ) -> AgentInstance:
        return self.store.save(
            uuid,
            updates,
            expected_task_state=expected_task_state,
            expected_vm_state=expected_vm_state,
        )

    def power_state(self, ctx: CallContext, inst: AgentInstance) -> int:
        try:
            return self.driver.get_info(ctx, inst.meta).power_state
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
                with self.store.action_event(ctx, uuid, event, self.host):
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
        expected_task_state: Expected,
    ) -> None:
        """Apply the final state and close the action in one write."""
        self.store.finish(
            ctx, uuid, {"task_state": None, **updates}, expected_task_state=expected_task_state
        )

    def record_fault(
        self, uuid: str, exc: BaseException, *, revert_task_state: bool = True
    ) -> None:
        changes: InstanceChanges = {"task_state": None} if revert_task_state else {}
        try:
            self.store.record_fault(uuid, exc, host=self.host, changes=changes)
        except Exception:
            LOG.exception("cannot record the fault of %s", uuid)

    def delete_allocations(self, consumer: str) -> None:
        try:
            self.deps.placement.delete_allocations(consumer)
        except ClientError as exc:
            LOG.warning("cannot remove the allocations of %s: %s", consumer, exc)
