"""The agent's start-up recovery and power state sync, on a real database and fake driver."""

from __future__ import annotations

import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest

from tests.support import make_runtime
from tinystack.common.clients.session import Session
from tinystack.common.rpc.context import CallContext
from tinystack.common.timeutils import utcnow
from tinystack.compute import models, states
from tinystack.compute.agent.manager import ComputeManager
from tinystack.compute.objects import AgentInstance
from tinystack.compute.service import SERVICE, agent_deps
from tinystack.compute.services import _rows, instances
from tinystack.compute.services.deps import Deps
from tinystack.compute.services.records import ServerRecord
from tinystack.compute.virt.fake import FakeDriver


@pytest.fixture
def deps(tmp_path: Path) -> Deps:
    runtime = make_runtime(tmp_path, SERVICE)
    assert runtime.db is not None
    return Deps(conf=runtime.conf, db=runtime.db, session=Session("", None, []))


@pytest.fixture
def manager(deps: Deps) -> ComputeManager:
    return ComputeManager(agent_deps(deps), "h1", str(uuid.uuid4()), FakeDriver("h1"))


def add(deps: Deps, **values: Any) -> str:
    row = models.Instance(
        uuid=str(uuid.uuid4()),
        project_id="p",
        user_id="u",
        display_name="vm",
        flavorid="1",
        vcpus=1,
        memory_mb=512,
        flavor={"flavorid": "1", "name": "m1.tiny", "vcpus": 1, "memory_mb": 512, "root_gb": 1},
        reservation_id="r-1",
        created_at=utcnow(),
        **{
            "vm_state": states.ACTIVE,
            "power_state": states.RUNNING,
            "host": "h1",
            "node": "h1",
            **values,
        },  # fmt: skip
    )

    def write(session: Any) -> None:
        session.add(row)

    deps.db.write(write)
    return row.uuid


def load(deps: Deps, uuid_: str) -> ServerRecord:
    return instances.get(deps.db, uuid_, read_deleted=True)


def record(manager: ComputeManager, uuid_: str) -> AgentInstance:
    """The instance as the agent's store gives it to the agent."""
    return manager.agent.store.load(uuid_, read_deleted=True)


def test_recovery_fails_builds_finishes_deletes_and_readopts(
    deps: Deps, manager: ComputeManager
) -> None:
    building = add(deps, vm_state=states.BUILDING, task_state=states.Task.SPAWNING)
    deleting = add(deps, task_state=states.Task.DELETING)
    running = add(deps)
    rebooting = add(deps, task_state=states.Task.REBOOTING)
    rows = [record(manager, u) for u in (building, deleting, running, rebooting)]
    manager.recovery.recover(rows)
    failed = load(deps, building)
    assert failed.vm_state == states.ERROR and failed.task_state is None
    with deps.db.reader() as session:
        faults = _rows.latest_faults(session, [building])
    assert "restarted" in faults[building].message
    assert load(deps, deleting).deleted
    assert load(deps, rebooting).task_state is None
    ctx = CallContext.internal()
    info = manager.agent.driver.get_info(ctx, record(manager, running).meta)
    assert info.power_state == states.RUNNING


def test_power_sync_follows_the_hypervisor(deps: Deps, manager: ComputeManager) -> None:
    gone = add(deps)
    paused = add(deps, vm_state=states.PAUSED, power_state=states.POWER_PAUSED)
    busy = add(deps, task_state=states.Task.REBOOTING)
    ctx = CallContext.internal()
    manager.agent.driver.recover_instance(ctx, record(manager, paused).meta, states.RUNNING)
    manager.recovery.sync_power_states([record(manager, u) for u in (gone, paused, busy)])
    stopped = load(deps, gone)
    assert stopped.power_state == states.SHUTDOWN and stopped.vm_state == states.STOPPED
    assert load(deps, paused).power_state == states.RUNNING
    assert load(deps, busy).power_state == states.RUNNING  # never touched mid-operation


def test_failure_injection(manager: ComputeManager, deps: Deps) -> None:
    from tinystack.compute.virt.driver import DriverError

    driver = manager.agent.driver
    assert isinstance(driver, FakeDriver)
    driver.inject_failure("power_off", DriverError("boom"), count=1)
    sid = add(deps)
    meta = record(manager, sid).meta
    ctx = CallContext.internal()
    driver.recover_instance(ctx, meta, states.RUNNING)
    with pytest.raises(DriverError):
        driver.power_off(ctx, meta)
    driver.power_off(ctx, meta)
    assert driver.get_info(ctx, meta).power_state == states.SHUTDOWN


class _Network:
    """The part of the network client ``ports.deallocate_for`` uses, over a dict of ports."""

    def __init__(self, ports: dict[str, str]) -> None:
        self.ports = dict(ports)  # port id -> device id
        self.unbound: list[str] = []

    def available(self) -> bool:
        return True

    def list_ports(self, **filters: Any) -> list[dict[str, Any]]:
        return [{"id": p} for p, dev in self.ports.items() if dev == filters["device_id"]]

    def delete_port(self, port_id: str, **_: Any) -> bool:
        return self.ports.pop(port_id, None) is not None

    def update_port(self, port_id: str, body: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.ports[port_id] = body["device_id"]
        self.unbound.append(port_id)
        return {"id": port_id}


def test_release_finds_ports_a_killed_build_did_not_record(
    deps: Deps, manager: ComputeManager
) -> None:
    """Regression (chaos, kill -9 during boots and deletes): a port created for a build
    killed before ``network_info`` was saved, and every port of an instance whose delete
    was interrupted, stayed owned by a server that no longer existed."""
    from tinystack.compute.services import ports

    sid = add(deps, task_state=states.Task.DELETING, network_info=[{"id": "recorded"}],
              request_spec={"requested_networks": [{"port_id": "users"}]})  # fmt: skip
    network = _Network({"recorded": sid, "unrecorded": sid, "users": sid, "other": "x"})
    ports.deallocate_for(network, CallContext.internal(), record(manager, sid))  # type: ignore[arg-type]
    assert network.ports == {"users": "", "other": "x"} and network.unbound == ["users"]

    released: list[str] = []
    store = manager.agent.store
    store.release_instance_ports = lambda ctx, inst: released.append(inst.uuid)  # type: ignore[method-assign]
    manager.recovery.recover([record(manager, sid)])
    assert released == [sid] and load(deps, sid).deleted


def test_conductor_settles_orphans_of_a_dead_compute_process(deps: Deps) -> None:
    """Regression (chaos, kill -9 of compute in the distributed mode): a delete of an
    instance that never reached a host, cut by the kill, stayed BUILD/deleting for ever;
    a build whose cast the kill swallowed stayed BUILD/scheduling until a restart more
    than five minutes later; the claim of a build whose instance was deleted meanwhile
    stayed in placement."""
    from tinystack.compute.conductor.manager import ConductorManager

    deleting = add(deps, host=None, node=None, vm_state=states.BUILDING,
                   task_state=states.Task.DELETING)  # fmt: skip
    scheduling = add(deps, host=None, node=None, vm_state=states.BUILDING,
                     task_state=states.Task.SCHEDULING)  # fmt: skip
    claimed = add(deps, host=None, node=None, deleted=True, vm_state=states.DELETED,
                  deleted_at=utcnow())  # fmt: skip
    node = str(uuid.uuid4())

    def write(session: Any) -> None:
        session.add(models.ComputeNode(uuid=node, host="h1", hypervisor_hostname="h1",
                    hypervisor_type="fake", vcpus=1, memory_mb=1, local_gb=1,
                    created_at=utcnow()))  # fmt: skip

    deps.db.write(write)
    held = {claimed: {"VCPU": 1}, "someone-else": {"VCPU": 1}}
    placement = SimpleNamespace(
        consumers_of=lambda rp: dict(held) if rp == node else {},
        delete_allocations=lambda c: held.pop(c, None) is not None,
    )
    conductor = ConductorManager(deps)
    with mock.patch.object(Deps, "placement", placement):
        assert conductor.recover(3600.0) == 0  # may still be another conductor's
        assert conductor.recover(0.0) == 3
    assert load(deps, deleting).deleted
    failed = load(deps, scheduling)
    assert failed.vm_state == states.ERROR and failed.task_state is None
    assert held == {"someone-else": {"VCPU": 1}}  # the deleted instance's claim is gone
