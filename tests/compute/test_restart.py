"""Restarting ``tinystack up`` while servers build: nothing stays in BUILD, no allocation leaks,
and servers that were running keep working."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cloudproc import CloudProcess
from tests.compute.conftest import SERVICES, Env

SLOW = """
[compute]
fake_hosts = 2
fake_spawn_delay = 1.5
api_settle_seconds = 0
"""


def _allocations(env: Env, consumer: str) -> dict[str, Any]:
    return dict(env.placement.get(f"/allocations/{consumer}").json()["allocations"])


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill", "term"])
def test_restart_during_builds(tmp_path: Path, sig: signal.Signals) -> None:
    cloud = CloudProcess(tmp_path / "state", SERVICES, SLOW)
    cloud.start(timeout=120)
    try:
        env = Env(cloud)
        running = env.boot(name="before")
        assert running["status"] == "ACTIVE"
        building = [env.boot(wait=False, name=f"b{n}")["id"] for n in range(4)]
        time.sleep(0.5)
        assert any(
            env.compute.get(f"/servers/{sid}").json()["server"]["status"] == "BUILD"
            for sid in building
        )
        cloud.stop(sig)
        cloud.start(timeout=120)
        env = Env(cloud)
        deadline = time.monotonic() + 20
        while True:
            servers = {s["id"]: s for s in env.compute.get("/servers/detail").json()["servers"]}
            if all(servers[sid]["status"] != "BUILD" for sid in building):
                break
            assert time.monotonic() < deadline, "instances stuck in BUILD after restart"
            time.sleep(0.2)
        for sid in building:
            server = servers[sid]
            assert server["status"] in ("ERROR", "ACTIVE"), server
            if server["status"] == "ERROR":
                assert server["fault"]["message"]
                assert _allocations(env, sid) == {}
            else:
                assert _allocations(env, sid)
        assert servers[running["id"]]["status"] == "ACTIVE"
        assert _allocations(env, running["id"])
        env.compute.post(f"/servers/{running['id']}/action", {"os-stop": None}, 202)
        assert env.wait(running["id"], "SHUTOFF")["OS-EXT-STS:power_state"] == 4
        for sid in [*building, running["id"]]:
            env.compute.delete(f"/servers/{sid}", 204)
        for sid in [*building, running["id"]]:
            env.wait(sid, "DELETED")
            assert _allocations(env, sid) == {}
    finally:
        cloud.stop()
