"""Moves between two fake hosts through the API: cold migration and resize (allocations
held by the migration until confirm, given back on revert) and evacuation (only from a
host that is down; states, migration records, allocations, 400/404/409, NoValidHost)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.compute.conftest import Env, MakeEnv

H1, H2 = "fake-compute-1", "fake-compute-2"


@pytest.fixture(scope="module")
def env(make_env: MakeEnv) -> Env:
    # the scheduler sees a host forced down, up, disabled or enabled at once
    return make_env("[compute]\nfake_hosts = 2\nhost_cache_seconds = 0\n")


def _server(env: Env, host: str) -> str:
    return str(env.boot(availability_zone=f"nova:{host}")["id"])


def _host(env: Env, sid: str) -> str:
    return str(env.compute.get(f"/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"])


def _migrations(env: Env, sid: str, kind: str) -> list[dict[str, Any]]:
    found = env.compute.get(f"/os-migrations?instance_uuid={sid}").json()["migrations"]
    return [m for m in found if m["migration_type"] == kind]


def _allocations(env: Env, consumer: str) -> dict[str, Any]:
    allocs = env.placement.get(f"/allocations/{consumer}").json()["allocations"]
    names = {
        rp["uuid"]: rp["name"]
        for rp in env.placement.get("/resource_providers").json()["resource_providers"]
    }
    return {names[rp]: a["resources"] for rp, a in allocs.items()}


def _set_down(env: Env, host: str, down: bool) -> None:
    services = env.compute.get(f"/os-services?host={host}&binary=nova-compute").json()
    sid = services["services"][0]["id"]
    env.compute.put(f"/os-services/{sid}", {"forced_down": down}, 200)


def _set_disabled(env: Env, host: str, disabled: bool) -> None:
    services = env.compute.get(f"/os-services?host={host}&binary=nova-compute").json()
    sid = services["services"][0]["id"]
    env.compute.put(f"/os-services/{sid}", {"status": "disabled" if disabled else "enabled"}, 200)


def test_cold_migrate_holds_source_allocations_until_confirm(env: Env) -> None:
    sid = _server(env, H1)
    env.compute.post(f"/servers/{sid}/action", {"migrate": None}, 202)
    server = env.wait(sid, "VERIFY_RESIZE")
    assert server["OS-EXT-SRV-ATTR:host"] == H2
    [mig] = _migrations(env, sid, "migration")
    assert mig["status"] == "finished"
    assert (mig["source_compute"], mig["dest_compute"]) == (H1, H2)
    # the migration holds the source, the server the destination
    assert list(_allocations(env, mig["uuid"])) == [H1]
    assert list(_allocations(env, sid)) == [H2]
    env.compute.post(f"/servers/{sid}/action", {"confirmResize": None}, 204)
    env.wait(sid, "ACTIVE")
    assert _allocations(env, mig["uuid"]) == {}
    assert list(_allocations(env, sid)) == [H2]
    assert _migrations(env, sid, "migration")[0]["status"] == "confirmed"
    env.compute.delete(f"/servers/{sid}", 204)


def test_resize_across_hosts_reverted_gives_allocations_back(env: Env) -> None:
    sid = _server(env, H1)
    env.compute.post(f"/servers/{sid}/action", {"resize": {"flavorRef": "2"}}, 202)
    server = env.wait(sid, "VERIFY_RESIZE")
    assert server["OS-EXT-SRV-ATTR:host"] == H2
    [mig] = _migrations(env, sid, "resize")
    assert _allocations(env, sid)[H2]["MEMORY_MB"] == 2048
    assert _allocations(env, mig["uuid"])[H1]["MEMORY_MB"] == 512
    env.compute.post(f"/servers/{sid}/action", {"revertResize": None}, 202)
    server = env.wait(sid, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] == H1
    assert server["flavor"]["original_name"] == "m1.tiny"
    assert _allocations(env, sid) == {H1: {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}}
    assert _allocations(env, mig["uuid"]) == {}
    assert _migrations(env, sid, "resize")[0]["status"] == "reverted"
    env.compute.delete(f"/servers/{sid}", 204)


def test_evacuate_refused_while_the_host_is_up_and_for_bad_input(env: Env) -> None:
    sid = _server(env, H1)
    act = f"/servers/{sid}/action"
    r = env.compute.post(act, {"evacuate": {}}, 400)
    assert "is still in use" in r.json()["badRequest"]["message"]
    legacy = env.compute.at("2.13")
    r = legacy.post(act, {"evacuate": {}}, 400)
    assert "onSharedStorage" in r.json()["badRequest"]["message"]
    r = legacy.post(act, {"evacuate": {"onSharedStorage": True, "adminPass": "x"}}, 400)
    assert "existing disk" in r.json()["badRequest"]["message"]
    env.compute.at("2.14").post(act, {"evacuate": {"onSharedStorage": False}}, 400)
    env.compute.at("2.68").post(act, {"evacuate": {"force": True}}, 400)
    env.compute.at("2.28").post(act, {"evacuate": {"force": True}}, 400)
    r = env.compute.post(act, {"evacuate": {"host": "no-such-host"}}, 404)
    assert "Compute host no-such-host not found." in r.text
    r = env.compute.post(act, {"evacuate": {"host": H1}}, 400)
    assert "can't be the same one" in r.text
    env.compute.post(act, {"evacuate": None}, 400)
    server = env.wait(sid, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] == H1
    assert _migrations(env, sid, "evacuation") == []
    env.compute.delete(f"/servers/{sid}", 204)


def test_evacuate_from_a_host_forced_down(env: Env) -> None:
    active, stopped, paused = (_server(env, H1) for _ in range(3))
    env.compute.post(f"/servers/{stopped}/action", {"os-stop": None}, 202)
    env.wait(stopped, "SHUTOFF")
    env.compute.post(f"/servers/{paused}/action", {"pause": None}, 202)
    env.wait(paused, "PAUSED")
    _set_down(env, H1, True)
    try:
        # 2.1: onSharedStorage is required and the password comes back
        r = env.compute.at("2.1").post(
            f"/servers/{active}/action", {"evacuate": {"onSharedStorage": False}}, 200
        )
        assert r.json()["adminPass"]
        r = env.compute.at("2.29").post(
            f"/servers/{stopped}/action", {"evacuate": {"host": H2, "force": True}}, 200
        )
        assert r.content == b""
        r = env.compute.post(f"/servers/{paused}/action", {"evacuate": {}}, 409)
        assert "vm_state paused" in r.json()["conflictingRequest"]["message"]
        for sid, status in ((active, "ACTIVE"), (stopped, "SHUTOFF")):
            server = env.wait(sid, status)
            assert server["OS-EXT-SRV-ATTR:host"] == H2
            [mig] = _migrations(env, sid, "evacuation")
            assert mig["status"] == "done"
            assert (mig["source_compute"], mig["dest_compute"]) == (H1, H2)
            # the dead host's resources stay taken (by the migration) until it cleans up
            assert list(_allocations(env, sid)) == [H2]
            assert list(_allocations(env, mig["uuid"])) == [H1]
            actions = env.compute.get(f"/servers/{sid}/os-instance-actions").json()
            assert actions["instanceActions"][0]["action"] == "evacuate"
    finally:
        _set_down(env, H1, False)
    for sid in (active, stopped, paused):
        env.compute.delete(f"/servers/{sid}", 204)


def test_evacuate_with_no_host_to_go_to_leaves_the_server_alone(env: Env) -> None:
    sid = _server(env, H1)
    _set_disabled(env, H2, True)
    _set_down(env, H1, True)
    try:
        env.compute.at("2.95").post(f"/servers/{sid}/action", {"evacuate": {}}, 200)
        server = env.wait(sid, "ACTIVE")
        assert server["OS-EXT-SRV-ATTR:host"] == H1
        [mig] = _migrations(env, sid, "evacuation")
        assert mig["status"] == "error"
        assert list(_allocations(env, sid)) == [H1]
        assert _allocations(env, mig["uuid"]) == {}
    finally:
        _set_down(env, H1, False)
        _set_disabled(env, H2, False)
    # 2.95: the evacuated server ends stopped
    _set_down(env, H1, True)
    try:
        env.compute.at("2.95").post(f"/servers/{sid}/action", {"evacuate": {}}, 200)
        server = env.wait(sid, "SHUTOFF")
        assert server["OS-EXT-SRV-ATTR:host"] == H2
    finally:
        _set_down(env, H1, False)
    env.compute.delete(f"/servers/{sid}", 204)


def test_evacuate_on_storage_that_is_not_shared_fails(env: Env) -> None:
    sid = _server(env, H1)
    _set_down(env, H1, True)
    try:
        env.compute.at("2.13").post(
            f"/servers/{sid}/action", {"evacuate": {"onSharedStorage": True}}, 200
        )
        server = env.wait(sid, "ERROR")
    finally:
        _set_down(env, H1, False)
    assert "shared storage" in server["fault"]["message"]
    assert _migrations(env, sid, "evacuation")[0]["status"] == "failed"
    env.compute.delete(f"/servers/{sid}", 204)


def test_deleting_a_resized_server_confirms_its_resize(env: Env) -> None:
    sid = _server(env, H1)
    env.compute.post(f"/servers/{sid}/action", {"migrate": None}, 202)
    env.wait(sid, "VERIFY_RESIZE")
    [mig] = _migrations(env, sid, "migration")
    env.compute.delete(f"/servers/{sid}", 204)
    env.wait(sid, "DELETED")
    deadline = time.monotonic() + 10
    while _migrations(env, sid, "migration")[0]["status"] != "confirmed":
        assert time.monotonic() < deadline, _migrations(env, sid, "migration")
        time.sleep(0.05)
    assert _allocations(env, mig["uuid"]) == {}
    assert _allocations(env, sid) == {}
