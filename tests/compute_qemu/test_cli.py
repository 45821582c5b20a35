"""End to end: a real ``tinystack up`` with the QEMU driver, driven by the ``openstack`` CLI.

Identity, placement, image and compute only (no network service: guests have no NIC);
the test image is dropped in ``<state_dir>/bootstrap-images`` before the start, so the
image service registers it as ``tinystack-test``. Every QEMU started under the state
directory is killed by PID at the end, whatever happened.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cloudproc import CloudProcess
from tests.compute_qemu.conftest import READY, cleanup_state
from tests.network_dataplane.support import PATIENCE
from tinystack.common.qmp import command as qmp
from tinystack.compute.virt.qemu import process
from tinystack.compute.virt.qemu.definition import Definition

pytestmark = pytest.mark.cli

EXTRA_CONF = """
[compute]
compute_driver = tinystack.compute.virt.qemu.factory:qemu_driver
accel = tcg
force_config_drive = true
vnc_port_min = 16900
vnc_port_max = 16999
report_interval = 1
sync_power_state_interval = 2
"""


class Cloud:
    def __init__(self, proc: CloudProcess) -> None:
        self.proc = proc
        self.instances = proc.state_dir / "instances"
        self.api = self._api()

    def _api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.proc.endpoint("compute"),
            headers={
                "X-Auth-Token": self.proc.token(),
                "OpenStack-API-Version": "compute latest",
            },
            timeout=30,
        )

    def osc(self, *args: str) -> Any:
        return self.proc.osc(*args)

    def osc_wait(self, *args: str) -> dict[str, Any]:
        """A --wait command whose JSON may follow progress lines on stdout."""
        result = self.proc.osc_raw(*args, "-f", "json")
        assert result.returncode == 0, result.stderr
        text = result.stdout
        return dict(json.loads(text[text.index("{") :])) if "{" in text else {}

    def server(self, sid: str) -> dict[str, Any]:
        return dict(self.api.get(f"/servers/{sid}").json()["server"])

    def wait_for(self, sid: str, status: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        server: dict[str, Any] = {}
        while time.monotonic() < deadline:
            server = self.server(sid)
            if server["status"] == status and server["OS-EXT-STS:task_state"] is None:
                return server
            time.sleep(0.1)
        raise AssertionError(f"{sid} stayed {server.get('status')}: {server.get('fault')}")

    def pid(self, sid: str) -> int | None:
        return process.find(self.instances / sid / "qemu.pid", sid)

    def qmp(self, sid: str, name: str) -> Any:
        defn = Definition.load(self.instances / sid)
        assert defn is not None
        return qmp(defn.qmp_socket, name)

    def wait_console(self, sid: str, text: str, count: int = 1, timeout: float = 45) -> str:
        deadline = time.monotonic() + timeout * PATIENCE  # TCG boots slow down under load
        log = ""
        while time.monotonic() < deadline:
            log = self.proc.osc_raw("console", "log", "show", sid).stdout
            log = log[: log.rfind("\n") + 1]  # whole lines: one can be read half-written
            if log.count(text) >= count:
                return log
            time.sleep(1)
        raise AssertionError(f"{text!r} x{count} not on the console of {sid}:\n{log[-2000:]}")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory, test_image: Path) -> Iterator[Cloud]:
    state = tmp_path_factory.mktemp("tsq-cloud")
    (state / "bootstrap-images").mkdir()
    shutil.copyfile(test_image, state / "bootstrap-images" / "tinystack-test.qcow2")
    proc = CloudProcess(state, ["identity", "placement", "image", "compute"], EXTRA_CONF)
    proc.start(timeout=120)
    try:
        yield Cloud(proc)
    finally:
        proc.stop()
        cleanup_state(state)


def create(cloud: Cloud, name: str, image: str = "tinystack-test") -> dict[str, Any]:
    started = time.monotonic()
    server = cloud.osc_wait(
        "server", "create", "--image", image, "--flavor", "m1.tiny", "--wait", name
    )
    print(f"\nserver create --wait {name}: {time.monotonic() - started:.1f}s (CLI included)")
    assert server["status"] == "ACTIVE", server
    return server


def test_server_life_cycle(cloud: Cloud) -> None:
    vm1 = create(cloud, "vm1")["id"]
    pid = cloud.pid(vm1)
    assert pid is not None
    log = cloud.wait_console(vm1, f"{READY} hostname=vm1 instance-id={vm1}")
    assert "TINYSTACK-GUEST-METADATA source=config-drive" in log

    # the VNC console: a URL with a token whose connection info is QEMU's VNC server
    url = cloud.osc("console", "url", "show", "--novnc", vm1)["url"]
    token = url.split("token%3D")[-1]
    console = cloud.api.get(f"/os-console-auth-tokens/{token}").json()["console"]
    assert console["instance_uuid"] == vm1 and console["host"] == "127.0.0.1"
    with socket.create_connection((console["host"], console["port"]), timeout=5) as vnc:
        assert vnc.recv(12).startswith(b"RFB ")

    cloud.osc("server", "stop", vm1)
    cloud.wait_for(vm1, "SHUTOFF")
    assert cloud.pid(vm1) is None and not process.is_ours(pid, vm1)
    cloud.osc("server", "start", vm1)
    cloud.wait_for(vm1, "ACTIVE")
    assert cloud.pid(vm1) is not None
    cloud.wait_console(vm1, READY, count=2)

    cloud.osc("server", "reboot", "--hard", "--wait", vm1)
    cloud.wait_for(vm1, "ACTIVE")
    cloud.wait_console(vm1, READY, count=3)

    cloud.osc("server", "pause", vm1)
    cloud.wait_for(vm1, "PAUSED")
    assert cloud.qmp(vm1, "query-status")["status"] == "paused"
    cloud.osc("server", "unpause", vm1)
    cloud.wait_for(vm1, "ACTIVE")
    assert cloud.qmp(vm1, "query-status")["status"] == "running"

    cloud.osc("server", "suspend", vm1)
    cloud.wait_for(vm1, "SUSPENDED")
    assert cloud.pid(vm1) is None
    cloud.osc("server", "resume", vm1)
    cloud.wait_for(vm1, "ACTIVE")
    assert cloud.qmp(vm1, "query-status")["status"] == "running"
    assert cloud.server(vm1)["OS-EXT-STS:power_state"] == 1

    # a snapshot boots another server
    snap = cloud.osc_wait("server", "image", "create", "--name", "vm1-snap", "--wait", vm1)
    assert cloud.osc("image", "show", snap["id"])["status"] == "active"
    vm2 = create(cloud, "vm2", image="vm1-snap")["id"]
    cloud.wait_console(vm2, f"{READY} hostname=vm2 instance-id={vm2}")

    # resize + confirm: the new memory is what QEMU runs with (in MiB: a TCG guest has
    # 8 KiB more, definition.ram_pad_kib)
    assert cloud.qmp(vm1, "query-memory-size-summary")["base-memory"] >> 20 == 512
    cloud.osc("server", "resize", "--flavor", "m1.small", "--wait", vm1)
    cloud.wait_for(vm1, "VERIFY_RESIZE")
    cloud.osc("server", "resize", "confirm", vm1)
    cloud.wait_for(vm1, "ACTIVE")
    assert cloud.qmp(vm1, "query-memory-size-summary")["base-memory"] >> 20 == 2048

    rebuilt = cloud.osc_wait("server", "rebuild", "--image", "tinystack-test", "--wait", vm2)
    assert rebuilt["id"] == vm2
    cloud.wait_for(vm2, "ACTIVE")

    # kill -9 of the whole service with both guests running: adopted, not restarted
    pids = {vm1: cloud.pid(vm1), vm2: cloud.pid(vm2)}
    assert all(pids.values())
    cloud.proc.stop(signal.SIGKILL)
    cloud.proc.start(timeout=120)
    cloud.api = cloud._api()
    for sid, before in pids.items():
        assert cloud.wait_for(sid, "ACTIVE")["OS-EXT-STS:power_state"] == 1
        assert cloud.pid(sid) == before

    # a guest whose QEMU died is SHUTOFF after the power-state sync
    os.kill(pids[vm2] or 0, signal.SIGKILL)
    cloud.wait_for(vm2, "SHUTOFF", timeout=30)

    cache = cloud.proc.state_dir / "image-cache"
    started = time.monotonic()
    cloud.osc("server", "delete", "--wait", vm1, vm2)
    print(f"\nserver delete --wait (2 servers): {time.monotonic() - started:.1f}s (CLI included)")
    for sid, before in pids.items():
        assert before is None or not process.is_ours(before, sid)
        assert not (cloud.instances / sid).exists()
    assert any(p.suffix == "" and not p.name.startswith(".") for p in cache.iterdir())
    cloud.osc("image", "delete", snap["id"])
