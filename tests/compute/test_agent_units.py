"""The agent's start-up recovery and power state sync, on a real database and fake driver."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

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
        host="h1",
        node="h1",
        reservation_id="r-1",
        created_at=utcnow(),
        **{"vm_state": states.ACTIVE, "power_state": states.RUNNING, **values},
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
