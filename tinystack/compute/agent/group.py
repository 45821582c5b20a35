"""Many compute hosts in one process: shared worker pool, one heartbeat, one power sync.

Each host is a :class:`ComputeManager` with its own driver, listening on
``Target("compute", server=host)``. Messages of every host run on one thread pool,
so a thousand fake hosts cost a thousand subscriptions, not a thousand threads.
Every ``report_interval`` it beats; less often it fails builds lost to a broker or
database fault (:meth:`AgentGroup.fail_lost_builds`) and syncs power states.
"""

from __future__ import annotations

import logging
import threading
import uuid as uuidlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from tinystack.common.clients.session import ClientError
from tinystack.common.rpc import Dispatcher, IncomingMessage, Listener, Target
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.server import Handoff
from tinystack.common.timeutils import utcnow
from tinystack.compute import rpcapi, states
from tinystack.compute.agent import resource_tracker
from tinystack.compute.agent.context import AgentDeps
from tinystack.compute.agent.live_migrate import clean_up_incoming
from tinystack.compute.agent.manager import ComputeManager
from tinystack.compute.agent.telemetry import Poller
from tinystack.compute.conf import Options
from tinystack.compute.objects import AgentInstance, NodeSpec
from tinystack.compute.virt.driver import ComputeDriver
from tinystack.compute.virt.fake import FakeDriver

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class HostSize:
    vcpus: int
    memory_mb: int
    disk_gb: int

    @classmethod
    def parse(cls, text: str) -> HostSize:
        try:
            vcpus, memory, disk = (int(p) for p in text.split(":"))
        except ValueError:
            raise ValueError(f"fake host size {text!r} is not VCPUS:MEMORY_MB:DISK_GB") from None
        return cls(vcpus, memory, disk)


def fake_drivers(opts: Options) -> list[FakeDriver]:
    count = int(opts.fake_hosts)
    prefix = str(opts.fake_host_prefix)
    sizes = [HostSize.parse(s) for s in opts.fake_host_sizes] or [HostSize(8, 16384, 200)]
    failing = set(opts.fake_fail_spawn_hosts)
    drivers = []
    for n in range(1, count + 1):
        size = sizes[(n - 1) % len(sizes)]
        name = f"{prefix}-{n}"
        drivers.append(
            FakeDriver(
                name,
                vcpus=size.vcpus,
                memory_mb=size.memory_mb,
                local_gb=size.disk_gb,
                spawn_delay=float(opts.fake_spawn_delay),
                action_delay=float(opts.fake_action_delay),
                live_migration_seconds=float(opts.fake_live_migration_seconds),
                fail_spawn=name in failing,
            )
        )
    return drivers


class AgentGroup:
    def __init__(self, deps: AgentDeps, drivers: list[ComputeDriver], hostnames: list[str]) -> None:
        self.deps = deps
        self.drivers = drivers
        self.hostnames = hostnames
        self.managers: dict[str, ComputeManager] = {}
        self._listeners: list[Listener] = []
        self._executor: ThreadPoolExecutor | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._service_ids: list[int] = []
        #: messages taken that wait for a thread of the pool
        self._handoff = Handoff()
        self.poller = Poller(deps.metric, deps.telemetry, self._guests)

    # -- start-up ------------------------------------------------------------------------------
    def start(self) -> None:
        ctx = CallContext.internal()
        opts = self.deps.opts
        store = self.deps.store
        known = store.node_uuids(self.hostnames)
        specs = []
        for driver, host in zip(self.drivers, self.hostnames, strict=True):
            driver.init_host(ctx, host)
            node_uuid = known.get(host) or str(uuidlib.uuid4())
            self.managers[host] = ComputeManager(self.deps, host, node_uuid, driver)
            specs.append(
                NodeSpec(
                    host=host,
                    node_uuid=node_uuid,
                    resources=driver.get_available_resource(ctx),
                    cpu_allocation_ratio=float(opts.cpu_allocation_ratio),
                    ram_allocation_ratio=float(opts.ram_allocation_ratio),
                    disk_allocation_ratio=float(opts.disk_allocation_ratio),
                )
            )
        store.register_nodes(specs)
        self._report_all(specs)
        self._recover()
        self._executor = ThreadPoolExecutor(
            max_workers=int(opts.agent_threads), thread_name_prefix="compute-agent"
        )
        transport = self.deps.transport
        for host, manager in self.managers.items():
            handler = self._handler(Dispatcher([manager]))
            self._listeners.append(
                transport.listen(Target(rpcapi.COMPUTE_TOPIC, server=host), handler)
            )
        self._service_ids = [s.id for s in store.compute_services() if s.host in self.managers]
        self._thread = threading.Thread(target=self._periodic, name="compute-periodic", daemon=True)
        self._thread.start()
        self.poller.start()

    def _handler(self, dispatcher: Dispatcher) -> Callable[[IncomingMessage], None]:
        def handle(message: IncomingMessage) -> None:
            executor = self._executor
            if executor is None:
                LOG.warning("compute agents stopped: dropping %s", message.method)
                return
            if not self._handoff.submit(executor, dispatcher, message):
                LOG.warning("compute agents stopping: dropping %s", message.method)

        return handle

    def _report_all(self, specs: list[NodeSpec]) -> None:
        disabled = {s.host for s in self.deps.store.compute_services() if s.disabled}

        def report(spec: NodeSpec) -> None:
            manager = self.managers[spec.host]
            try:
                resource_tracker.report(
                    self.deps.placement,
                    spec.node_uuid,
                    spec.resources,
                    manager.agent.driver,
                    self.deps.opts,
                    spec.host in disabled,
                )
            except ClientError as exc:
                LOG.error("cannot report %s to placement: %s", spec.host, exc)

        if len(specs) <= 4:
            for spec in specs:
                report(spec)
            return
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="compute-report") as pool:
            list(pool.map(report, specs))

    def _guests(self) -> list[tuple[ComputeDriver, str, AgentInstance]]:
        """Every instance of this group's hosts, with its host's driver (the poller's)."""
        return [
            (self.managers[host].agent.driver, host, inst)
            for host, found in self._instances_by_host().items()
            for inst in found
        ]

    def _instances_by_host(self, vm_state: str | None = None) -> dict[str, list[AgentInstance]]:
        return self.deps.store.instances_on(list(self.managers), vm_state)

    def _recover(self) -> None:
        for manager in self.managers.values():
            try:
                manager.evacuations.clean_up_evacuated()
            except Exception:
                LOG.exception("cannot clean up after evacuations from %s", manager.agent.host)
            try:
                manager.evacuations.reap_deleted()
            except Exception:
                LOG.exception("cannot reap the guests of deleted servers on %s", manager.agent.host)
            try:
                clean_up_incoming(manager.agent)
            except Exception:
                LOG.exception("cannot clean up live migrations into %s", manager.agent.host)
        for host, found in self._instances_by_host().items():
            if found:
                self.managers[host].recovery.recover(found)

    # -- periodic tasks ------------------------------------------------------------------------
    def _periodic(self) -> None:
        opts = self.deps.opts
        interval = int(opts.report_interval)
        sync_every = int(opts.sync_power_state_interval)
        #: lost builds are looked for four times per orphan_timeout (each pass reads
        #: every instance of the group's hosts)
        lost_every = max(interval, int(opts.orphan_timeout) // 4)
        waited = since_lost = 0.0
        while not self._stop.wait(interval):
            try:
                self.deps.store.heartbeat(self._service_ids)
            except Exception:
                LOG.exception("compute heartbeat failed")
            waited += interval
            since_lost += interval
            if since_lost >= lost_every:
                since_lost = 0.0
                self.fail_lost_builds()
            if sync_every > 0 and waited >= sync_every:
                waited = 0.0
                self.sync_power_states()

    def fail_lost_builds(self) -> None:
        """Builds on this group's hosts started over ``orphan_timeout`` seconds ago that
        no thread runs (the instance's lock is free and no message waits for a thread):
        a broker or database fault lost their message or cut them short, so they fail
        as a restart would fail them."""
        cutoff = utcnow() - timedelta(seconds=float(self.deps.opts.orphan_timeout))
        try:
            for host, found in self._instances_by_host(states.BUILDING).items():
                manager = self.managers[host]
                lost = [
                    inst for inst in found
                    if inst.created_at is not None and inst.created_at <= cutoff
                    and not manager.agent.locks.held(inst.uuid)
                ]  # fmt: skip
                if lost and not self._handoff.queued:
                    manager.recovery.fail_lost_builds(lost)
        except Exception:
            LOG.exception("cannot fail lost builds")

    def sync_power_states(self) -> None:
        try:
            for host, found in self._instances_by_host().items():
                if found:
                    self.managers[host].recovery.sync_power_states(found)
        except Exception:
            LOG.exception("power state sync failed")

    def stop(self) -> None:
        self._stop.set()
        self.poller.stop()
        for listener in self._listeners:
            listener.stop()
        self._listeners.clear()
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=False)
        if self._thread is not None:
            self._thread.join(timeout=5)
