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
from tinystack.compute.agent.live_migrate import clean_up_incoming
from tinystack.compute.agent.manager import ComputeManager
from tinystack.compute.objects import AgentInstance, LiveMigrateData
from tinystack.compute.service import SERVICE, agent_deps
from tinystack.compute.services import _rows, instances, migrations
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
        **{
            "created_at": utcnow(),
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

    def has_extension(self, alias: str) -> bool:
        return False

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
    store.release_instance_ports = lambda ctx, inst, strict=False: released.append(inst.uuid)  # type: ignore[method-assign]
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
    # a port bound to the deleted instance (a build bound it after the delete had listed
    # the ports, and was killed before it saw the delete), one of a live server, one not
    # compute's
    live = add(deps)
    bound = {"p-dead": claimed, "p-live": live, "p-dhcp": "dhcp-1"}
    network = _Network(bound)
    listed = [{"id": p, "device_id": d, "device_owner": "network:dhcp" if p == "p-dhcp"
               else "compute:nova"} for p, d in bound.items()]  # fmt: skip
    network.list_ports = lambda **f: [  # type: ignore[method-assign]
        p for p in listed if p["id"] in network.ports
        and f.get("device_id", p["device_id"]) == p["device_id"]
    ]  # fmt: skip
    conductor = ConductorManager(deps)
    with (
        mock.patch.object(Deps, "placement", placement),
        mock.patch.object(Deps, "network", network),
    ):
        # the builds and deletes may still be another conductor's; a deleted instance's
        # claim and ports are no one's (#18 chaos: a delete while placement was down
        # leaked the claim; compute killed mid-build leaked the port)
        assert conductor.recover(3600.0) == 2
        assert conductor.recover(0.0) == 2
    assert load(deps, deleting).deleted
    failed = load(deps, scheduling)
    assert failed.vm_state == states.ERROR and failed.task_state is None
    assert held == {"someone-else": {"VCPU": 1}}  # the deleted instance's claim is gone
    assert network.ports == {"p-live": live, "p-dhcp": "dhcp-1"}


def test_delete_with_the_network_away_keeps_the_server_and_its_ports(
    deps: Deps, manager: ComputeManager
) -> None:
    """Regression (#18 chaos, network killed during deletes): a server deleted while the
    network service was down was marked deleted with its ports left behind, owned by no
    server. As upstream's _try_deallocate_network, the delete now fails: the server goes
    to ERROR with a fault and keeps its ports until a delete succeeds."""
    from tinystack.common.clients.session import ClientError

    sid = add(deps, task_state=states.Task.DELETING, network_info=[{"id": "p1"}])
    calls: list[str] = []

    def away(*args: Any, **kw: Any) -> Any:
        calls.append("called")
        raise ClientError("network", 0, "network unreachable")

    network = SimpleNamespace(available=lambda: True, list_ports=away, delete_port=away,
                              update_port=away)  # fmt: skip
    store = manager.agent.store
    with mock.patch.object(store, "network", network):
        manager.builds.terminate_instance(CallContext.internal(), sid)
    failed = load(deps, sid)
    assert not failed.deleted and calls
    assert failed.vm_state == states.ERROR and failed.task_state is None
    with deps.db.reader() as session:
        assert _rows.latest_faults(session, [sid])[sid].message == "ClientError"

    gone = SimpleNamespace(available=lambda: True, list_ports=lambda **kw: [],
                           delete_port=lambda port_id, **kw: True)  # fmt: skip
    with mock.patch.object(store, "network", gone):
        manager.builds.terminate_instance(CallContext.internal(), sid)
    assert load(deps, sid).deleted


def test_builds_lost_to_a_fault_fail_without_a_restart(deps: Deps) -> None:
    """Regression (#18 chaos, database restarted during boots): a build whose writes a
    database fault cut short stayed BUILD until its compute service restarted. The
    agent's periodic pass fails such builds once older than orphan_timeout, unless a
    thread still works on them."""
    from datetime import timedelta

    from tinystack.compute.agent.group import AgentGroup

    old = utcnow() - timedelta(hours=1)
    lost = add(deps, vm_state=states.BUILDING, task_state=states.Task.SPAWNING, created_at=old)
    running = add(deps, vm_state=states.BUILDING, task_state=states.Task.SPAWNING,
                  created_at=old)  # fmt: skip
    young = add(deps, vm_state=states.BUILDING, task_state=states.Task.SPAWNING)
    group = AgentGroup(agent_deps(deps), [FakeDriver("h1")], ["h1"])
    group.managers["h1"] = ComputeManager(group.deps, "h1", str(uuid.uuid4()), group.drivers[0])
    with group.managers["h1"].agent.locks.hold(running):
        group.fail_lost_builds()
    assert load(deps, lost).vm_state == states.ERROR
    with deps.db.reader() as session:
        assert "lost" in _rows.latest_faults(session, [lost])[lost].message
    assert load(deps, running).vm_state == states.BUILDING
    assert load(deps, young).vm_state == states.BUILDING


def _live_migration(deps: Deps, instance_uuid: str, status: str) -> str:
    row = models.Migration(
        uuid=str(uuid.uuid4()),
        instance_uuid=instance_uuid,
        source_compute="h1",
        dest_compute="h2",
        source_node="h1",
        dest_node="h2",
        status=status,
        migration_type="live-migration",
        created_at=utcnow(),
    )
    deps.db.write(lambda session: session.add(row))
    return row.uuid


def test_a_live_migration_switch_over_has_one_winner(deps: Deps, manager: ComputeManager) -> None:
    """The source ending a live migration and the destination taking its guest exclude
    each other: whichever writes first wins, the other is refused."""
    store = manager.agent.store
    taken = add(deps, task_state=states.Task.MIGRATING)
    mig = _live_migration(deps, taken, "running")
    assert not store.claim_live_migration(mig, "h2", "h2")  # not switching over yet
    assert store.advance_live_migration(mig, "post-migrating")
    assert store.claim_live_migration(mig, "h2", "h2")
    assert not store.advance_live_migration(mig, "error")
    assert load(deps, taken).host == "h2" and store.migration(mig).status == "post-migrating"
    kept = add(deps, task_state=states.Task.MIGRATING)
    mig = _live_migration(deps, kept, "post-migrating")
    assert store.advance_live_migration(mig, "error")
    assert not store.claim_live_migration(mig, "h2", "h2")
    assert not store.advance_live_migration(mig, "failed")
    assert load(deps, kept).host == "h1" and store.migration(mig).status == "error"


def test_a_restarted_destination_drops_its_live_migration_copies(deps: Deps) -> None:
    """An agent starting on a migration's destination ends the migrations into it that
    were under way in ``error`` and drops the copies they prepared (those taken at the
    switch-over stay)."""
    h2 = ComputeManager(agent_deps(deps), "h2", str(uuid.uuid4()), FakeDriver("h2"))
    ctx = CallContext.internal()
    moving = add(deps, task_state=states.Task.MIGRATING)
    mig = _live_migration(deps, moving, "running")
    taken = add(deps, task_state=states.Task.MIGRATING)
    switched = _live_migration(deps, taken, "post-migrating")
    # a live migration that failed earlier, then a resize to h2 under way: its copy stays
    resizing = add(deps, task_state=states.Task.RESIZE_MIGRATING)
    _live_migration(deps, resizing, "error")
    resize = _live_migration(deps, resizing, "migrating")
    deps.db.write(lambda session: migrations.update_in(session, resize, migration_type="resize"))
    for uuid_ in (moving, taken, resizing):
        h2.agent.driver.pre_live_migration(
            ctx, record(h2, uuid_).meta, [], [], LiveMigrateData(incoming_uri="fake")
        )
    assert h2.agent.store.claim_live_migration(switched, "h2", "h2")
    clean_up_incoming(h2.agent)
    assert h2.agent.store.migration(mig).status == "error"
    assert h2.agent.store.migration(switched).status == "post-migrating"
    assert sorted(h2.agent.driver.list_instances(ctx)) == sorted([taken, resizing])


def test_the_evacuated_host_keeps_the_disks_on_shared_storage(
    deps: Deps, manager: ComputeManager
) -> None:
    """At its start the host servers were evacuated from destroys its copies, with
    ``destroy_disks`` false for the one whose disks its driver sees on shared storage (the
    server runs from them on the new host), as upstream's _destroy_evacuated_instances."""
    shared, local = add(deps, host="h2", node="h2"), add(deps, host="h2", node="h2")
    moves = {u: _live_migration(deps, u, "done") for u in (shared, local)}
    deps.db.write(
        lambda session: [
            migrations.update_in(session, m, migration_type="evacuation") for m in moves.values()
        ]
    )
    driver = manager.agent.driver
    with (
        mock.patch.object(driver, "instance_on_disk", lambda ctx, meta: meta.uuid == shared),
        mock.patch.object(driver, "destroy") as destroy,
        mock.patch.object(manager.agent, "delete_allocations"),
    ):
        manager.evacuations.clean_up_evacuated()
    kept = {c.args[1].uuid: c.kwargs["destroy_disks"] for c in destroy.call_args_list}
    assert kept == {shared: False, local: True}
    assert {manager.agent.store.migration(m).status for m in moves.values()} == {"completed"}


def test_a_failed_evacuation_leaves_no_guest_once_its_server_is_deleted(
    deps: Deps, manager: ComputeManager
) -> None:
    """An evacuation that failed on its destination (the server the destination's, in
    ERROR; its migration ``failed``) leaves the source's guest; once the server is deleted
    (there), the source's next start destroys that guest, as upstream's running-deleted
    reaper. A failed evacuation's server that still exists keeps its guest, and so do
    this host's servers."""
    ctx = CallContext.internal()
    gone = add(deps, host="h2", node="h2", vm_state=states.DELETED, deleted=True)
    kept = add(deps, host="h2", node="h2", vm_state=states.ERROR)
    own = add(deps)
    for uuid_ in (gone, kept, own):
        manager.agent.driver.recover_instance(ctx, record(manager, uuid_).meta, states.RUNNING)
    moves = [_live_migration(deps, u, "failed") for u in (gone, kept)]
    deps.db.write(
        lambda session: [
            migrations.update_in(session, m, migration_type="evacuation") for m in moves
        ]
    )
    manager.evacuations.clean_up_evacuated()
    assert gone in manager.agent.driver.list_instances(ctx)  # not one it destroys after
    manager.evacuations.reap_deleted()
    assert sorted(manager.agent.driver.list_instances(ctx)) == sorted([kept, own])
