"""Live migration on fake hosts: os-migrateLive across microversions, the server's
migrations (progress, force_complete, abort), allocations moved by the migration consumer,
and a destination without room (NoValidHost, the guest untouched)."""

from __future__ import annotations

import signal
import time
from typing import Any

import pytest

from tests.compute.conftest import Api, Env, MakeEnv

CONF = """
[compute]
fake_hosts = 2
fake_host_sizes = 8:16384:200,1:1024:10
reserved_host_memory_mb = 0
fake_live_migration_seconds = 3
"""
BIG, SMALL = "fake-compute-1", "fake-compute-2"


@pytest.fixture(scope="module")
def lm(make_env: MakeEnv) -> Env:
    return make_env(CONF)


def _boot(env: Env, host: str, flavor: str = "1") -> dict[str, Any]:
    server = env.boot(flavorRef=flavor, availability_zone=f"nova:{host}")
    assert server["status"] == "ACTIVE" and server["OS-EXT-SRV-ATTR:host"] == host
    return server


def _migrate(api: Api, sid: str, body: Any, status: int = 202) -> Any:
    return api.post(f"/servers/{sid}/action", {"os-migrateLive": body}, status)


def _providers(env: Env, consumer: str) -> dict[str, Any]:
    found = env.placement.get(f"/allocations/{consumer}").json()["allocations"]
    names = {
        rp["uuid"]: rp["name"]
        for rp in env.placement.get("/resource_providers").json()["resource_providers"]
    }
    return {names[rp]: alloc["resources"] for rp, alloc in found.items()}


def _live_migrations(env: Env, sid: str) -> list[dict[str, Any]]:
    found = env.compute.get(f"/os-migrations?instance_uuid={sid}").json()["migrations"]
    return [m for m in found if m["migration_type"] == "live-migration"]


def _wait_running(env: Env, sid: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = env.compute.get(f"/servers/{sid}/migrations").json()["migrations"]
        if found and found[0]["status"] == "running" and found[0]["memory_processed_bytes"]:
            return dict(found[0])
        time.sleep(0.05)
    raise AssertionError(f"no running live migration of {sid}: {_live_migrations(env, sid)}")


def test_live_migration_moves_the_server_and_its_allocations(lm: Env) -> None:
    server = _boot(lm, SMALL)
    sid = server["id"]
    before = _providers(lm, sid)
    assert list(before) == [SMALL]
    _migrate(lm.compute, sid, {"host": None, "block_migration": "auto"})
    assert lm.compute.get(f"/servers/{sid}").json()["server"]["status"] == "MIGRATING"
    running = _wait_running(lm, sid)
    assert running["source_compute"] == SMALL and running["dest_compute"] == BIG
    assert running["memory_total_bytes"] == 512 * 1024 * 1024
    assert 0 < running["memory_processed_bytes"] <= running["memory_total_bytes"]
    # while it runs, the migration consumer holds the source and the server the destination
    held = _providers(lm, running["uuid"])
    assert list(held) == [SMALL] and list(_providers(lm, sid)) == [BIG]
    shown = lm.compute.get(f"/servers/{sid}/migrations/{running['id']}").json()["migration"]
    assert shown["server_uuid"] == sid and shown["status"] == "running"
    done = lm.wait(sid, "ACTIVE", timeout=30)
    assert done["OS-EXT-SRV-ATTR:host"] == BIG
    assert _providers(lm, sid) == {BIG: before[SMALL]}
    # as upstream, the source releases what the migration consumer held once it has
    # cleaned up after the switch-over, which is after the destination made it ACTIVE
    deadline = time.monotonic() + 15
    while _providers(lm, running["uuid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _providers(lm, running["uuid"]) == {}
    mig = _live_migrations(lm, sid)[0]
    assert mig["status"] == "completed" and mig["dest_compute"] == BIG
    # a finished migration is no longer one of the server's in-progress migrations
    assert lm.compute.get(f"/servers/{sid}/migrations").json()["migrations"] == []
    lm.compute.get(f"/servers/{sid}/migrations/{mig['id']}", 404)
    actions = lm.compute.get(f"/servers/{sid}/os-instance-actions").json()["instanceActions"]
    assert actions[0]["action"] == "live-migration"
    events = lm.last_action(sid, lm.compute)["instanceAction"]["events"]
    names = {e["event"]: e["result"] for e in events}
    assert names["conductor_live_migrate_instance"] == "Success"
    assert names["compute_live_migration"] == "Success"
    assert names["compute_pre_live_migration"] == "Success"
    lm.compute.delete(f"/servers/{sid}", 204)


def test_force_complete_and_abort(lm: Env) -> None:
    sid = _boot(lm, SMALL)["id"]
    before = _providers(lm, sid)
    api = lm.compute.at("2.24")
    # not migrating: nothing to complete or abort
    lm.compute.post(f"/servers/{sid}/migrations/1/action", {"force_complete": None}, 409)
    _migrate(api, sid, {"host": BIG, "block_migration": True, "disk_over_commit": False})
    running = _wait_running(lm, sid)
    lm.compute.delete(f"/servers/{sid}/migrations/{running['id'] + 1000}", 404)
    api.delete(f"/servers/{sid}/migrations/{running['id']}", 202)
    server = lm.wait(sid, "ACTIVE", timeout=30)
    assert server["OS-EXT-SRV-ATTR:host"] == SMALL
    assert _live_migrations(lm, sid)[0]["status"] == "cancelled"
    assert _providers(lm, sid) == before and _providers(lm, running["uuid"]) == {}
    # a second one, forced to complete: done well before the 3 s it would take
    _migrate(lm.compute, sid, {"host": BIG, "block_migration": False})
    running = _wait_running(lm, sid)
    started = time.monotonic()
    api.post(f"/servers/{sid}/migrations/{running['id']}/action", {"force_complete": None}, 202)
    server = lm.wait(sid, "ACTIVE", timeout=30)
    assert time.monotonic() - started < 2.5
    assert server["OS-EXT-SRV-ATTR:host"] == BIG
    assert _live_migrations(lm, sid)[0]["status"] == "completed"
    assert list(_providers(lm, sid)) == [BIG]
    actions = [a["action"] for a in lm.compute.get(f"/servers/{sid}/os-instance-actions").json()[
        "instanceActions"]]  # fmt: skip
    assert "live_migration_cancel" in actions and "live_migration_force_complete" in actions
    lm.compute.delete(f"/servers/{sid}", 204)


def test_a_host_without_room_leaves_the_server_untouched(lm: Env) -> None:
    sid = _boot(lm, BIG, flavor="2")["id"]
    before = _providers(lm, sid)
    # before 2.34 the checks answer the request
    body = {"host": SMALL, "block_migration": "auto", "force": False}
    reply = _migrate(lm.compute.at("2.30"), sid, body, 400).json()
    assert "No valid host" in reply["badRequest"]["message"]
    server = lm.wait(sid, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] == BIG and _providers(lm, sid) == before
    # since 2.34 they happen after the 202, and the instance action says why
    _migrate(lm.compute, sid, {"host": SMALL, "block_migration": "auto"})
    server = lm.wait(sid, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] == BIG and _providers(lm, sid) == before
    assert [m["status"] for m in _live_migrations(lm, sid)] == ["error", "error"]
    events = lm.last_action(sid, lm.compute)["instanceAction"]["events"]
    assert events[0]["event"] == "conductor_live_migrate_instance"
    assert events[0]["result"] == "Error"
    lm.compute.delete(f"/servers/{sid}", 204)


def test_bad_live_migration_requests(lm: Env) -> None:
    sid = _boot(lm, SMALL)["id"]
    api = lm.compute
    _migrate(api, sid, {"host": None}, 400)  # block_migration is required
    _migrate(api, sid, {"block_migration": "auto"}, 400)  # so is host
    _migrate(api, sid, {"host": None, "block_migration": "maybe"}, 400)
    _migrate(api, sid, {"host": None, "block_migration": "auto", "force": True}, 400)  # 2.68
    _migrate(api.at("2.25"), sid, {"host": None, "block_migration": True,
                                   "disk_over_commit": False}, 400)  # fmt: skip
    _migrate(api.at("2.24"), sid, {"host": None, "block_migration": "auto",
                                   "disk_over_commit": False}, 400)  # fmt: skip
    _migrate(api.at("2.24"), sid, {"host": None, "block_migration": False}, 400)
    _migrate(api, sid, {"host": SMALL, "block_migration": "auto"}, 400)  # its own host
    _migrate(api, sid, {"host": "no-such-host", "block_migration": "auto"}, 400)
    # a member may live-migrate only when the policy says so (admin by default)
    _migrate(lm.demo, sid, {"host": None, "block_migration": "auto"}, 404)
    server = lm.wait(sid, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] == SMALL
    assert _live_migrations(lm, sid) == []
    api.at("2.22").get(f"/servers/{sid}/migrations", 404)
    lm.compute.delete(f"/servers/{sid}", 204)


def test_a_restart_mid_migration_leaves_the_server_on_its_source(lm: Env) -> None:
    """Killed while it copies: after the restart the migration is in error, the server
    runs on its source with its allocations, and can be migrated again."""
    sid = _boot(lm, SMALL)["id"]
    before = _providers(lm, sid)
    _migrate(lm.compute, sid, {"host": BIG, "block_migration": "auto"})
    running = _wait_running(lm, sid)
    lm.cloud.stop(signal.SIGKILL)
    lm.cloud.start(timeout=120)
    server = lm.wait(sid, "ACTIVE", timeout=60)
    assert server["OS-EXT-SRV-ATTR:host"] == SMALL
    assert _live_migrations(lm, sid)[0]["status"] == "error"
    # the allocations return once placement answers (it starts after the agents)
    deadline = time.monotonic() + 30
    while _providers(lm, running["uuid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _providers(lm, sid) == before and _providers(lm, running["uuid"]) == {}
    _migrate(lm.compute, sid, {"host": BIG, "block_migration": "auto"})
    assert lm.wait(sid, "ACTIVE", timeout=30)["OS-EXT-SRV-ATTR:host"] == BIG
    assert list(_providers(lm, sid)) == [BIG]
    lm.compute.delete(f"/servers/{sid}", 204)
