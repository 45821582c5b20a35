"""A rolling upgrade: the control plane at release N, one compute agent still at N-1.

The cloud (identity, placement, image, compute with one fake host at N) and the old
agent (``old_agent.py``: another process, compute RPC 2.1, ``ScheduledEvent`` 1.0) share
the compute database and a RabbitMQ virtual host, as two machines would. The schema is
only expanded (``tinystack db expand`` before anything starts), ``[upgrade_levels]
compute = auto``. Servers boot, resize, migrate and are deleted on both hosts: the
scheduling event the old agent records proves the backported payload, its dispatcher
(refusing 2.2) the cap. ``tinystack upgrade check`` reports the pin, the old service
and the pending contract, which ``tinystack db contract`` refuses until the old agent
is upgraded.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import cloud_fork
from tests.cloudproc import BIN, ROOT, CloudProcess, free_port
from tests.compute.conftest import Env
from tests.compute.old_agent import OLD_COMPUTE_VERSION
from tests.rabbit import delete_vhost_later, rabbit_vhost
from tinystack.compute import rpcapi

SERVICES = ["identity", "placement", "image", "compute"]
OLD_HOST = "tsup-old-1"
NEW_HOST = "tsup-new-1"
CONDUCTOR_HOST = "tsup-control"
SCHEDULE_EVENT = "conductor_schedule_and_build_instances"
#: what the control plane and upgraded agents run
NEW = rpcapi.COMPUTE_VERSION


class Agent:
    """The second compute host: an agent-only ``tinystack serve compute`` process."""

    def __init__(self, cloud: CloudProcess, transport: str) -> None:
        main = cloud.state_dir
        self.state = main.parent / f"{main.name}-tsup-agent"
        self.state.mkdir()
        shutil.copy(main / "secrets.json", self.state / "secrets.json")
        shutil.copytree(main / "fernet-keys", self.state / "fernet-keys")
        lines = [
            "[DEFAULT]",
            f"state_dir = {self.state}",
            f"enabled_services = {','.join(SERVICES)}",
            f"transport_url = {transport}",
            *(
                f"[{name}]\nport = {cloud.ports[name]}"
                for name in ("identity", "placement", "image")
            ),
            "[compute]",
            f"port = {free_port()}",
            f"connection = sqlite:///{main / 'compute.sqlite'}",
            f"metadata_listen_port = {free_port()}",
            "compute_driver = fake",
            "fake_host_prefix = tsup-old",
            "enabled_workers = agent",
            "report_interval = 1",
            "[console]",
            f"novncproxy_port = {free_port()}",
            f"serialproxy_port = {free_port()}",
        ]
        self.conf = self.state / "tinystack.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.log = self.state / "agent.log"
        self.proc: subprocess.Popen[bytes] | cloud_fork.Forked | None = None

    def start(self, old: bool) -> None:
        """``old``: this code pinned to release N-1 (``tests.compute.old_agent``), else
        the release itself (forked from the warm ``tinystack`` of ``cloud_fork``)."""
        argv = ["serve", "compute", "--config-file", str(self.conf)]
        env = {**cloud_env(), "PYTHONPATH": str(ROOT)}
        if not old:
            self.proc = cloud_fork.spawn(argv, env, self.log)
            if self.proc is not None:
                return
        program = (
            [sys.executable, "-m", "tests.compute.old_agent"] if old else [str(BIN / "tinystack")]
        )
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [*program, *argv],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=ROOT,
                env=env,
            )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def cloud_env() -> dict[str, str]:
    """This environment without the caller's OpenStack credentials."""
    return {k: v for k, v in os.environ.items() if not k.startswith("OS_")}


class Upgrade:
    """The cloud, its second host, and the ``tinystack`` upgrade commands against them."""

    def __init__(self, env: Env, agent: Agent) -> None:
        self.env = env
        self.agent = agent

    def tinystack(self, *argv: str) -> subprocess.CompletedProcess[str]:
        cloud = self.env.cloud
        return cloud_fork.run([*argv, "--config-file", str(cloud.conf_file)], cloud.env)

    def check(self) -> tuple[int, dict[str, Any]]:
        result = self.tinystack("upgrade", "check", "--json")
        assert result.returncode in (0, 1), result.stderr
        return result.returncode, json.loads(result.stdout)

    def wait_service(self, host: str, rpc_version: str, timeout: float = 60) -> None:
        """Until ``host``'s agent is up and reports ``rpc_version``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.agent.proc is not None and self.agent.proc.poll() is None, self.logs()
            _, report = self.check()
            if any(
                s["host"] == host and s["up"] and s["rpc_version"] == rpc_version
                for s in report["services"]
            ):
                return
            time.sleep(0.5)
        raise AssertionError(f"{host} not up at {rpc_version}: {self.logs()}")

    def logs(self) -> str:
        return self.agent.log.read_text()[-3000:] if self.agent.log.exists() else ""


@pytest.fixture(scope="module")
def upgrade(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upgrade]:
    vhost = f"tsup-{uuid.uuid4().hex[:8]}"
    url = rabbit_vhost(vhost)
    if url is None:
        pytest.skip("cannot make a RabbitMQ virtual host (rabbitmqctl)")
    state = Path(tmp_path_factory.mktemp("tsup-cloud"))
    conf = (
        f"[DEFAULT]\ntransport_url = {url}\n"
        f"[compute]\nhost = {CONDUCTOR_HOST}\nfake_host_prefix = tsup-new\nreport_interval = 1\n"
        "[upgrade_levels]\ncompute = auto\n"
    )
    cloud = CloudProcess(state, SERVICES, conf)
    agent: Agent | None = None
    try:
        expanded = cloud_fork.run(
            ["db", "expand", "--config-file", str(cloud.conf_file)], cloud.env
        )
        assert expanded.returncode == 0, expanded.stderr
        cloud.start(timeout=120)
        agent = Agent(cloud, url)
        agent.start(old=True)
        yield Upgrade(Env(cloud), agent)
    finally:
        if agent is not None:
            agent.stop()
        cloud.stop()
        delete_vhost_later(vhost)


def scheduled_on(env: Env, sid: str) -> str:
    """The host the scheduling event of a server's create was recorded with."""
    actions = env.compute.get(f"/servers/{sid}/os-instance-actions").json()["instanceActions"]
    create = next(a for a in actions if a["action"] == "create")
    detail = env.compute.get(f"/servers/{sid}/os-instance-actions/{create['request_id']}")
    events = detail.json()["instanceAction"]["events"]
    return str(next(e for e in events if e["event"] == SCHEDULE_EVENT)["host"])


def boot_on(env: Env, host: str, name: str) -> dict[str, Any]:
    server = env.boot(name=name, availability_zone=f"nova:{host}")
    assert server["status"] == "ACTIVE", server.get("fault")
    assert server["OS-EXT-SRV-ATTR:host"] == host
    return server


def test_control_plane_n_with_an_agent_at_n_minus_1(upgrade: Upgrade) -> None:
    env = upgrade.env
    upgrade.wait_service(OLD_HOST, OLD_COMPUTE_VERSION)

    code, report = upgrade.check()
    assert code == 1
    services = {(s["binary"], s["host"]): s for s in report["services"]}
    old = services[("nova-compute", OLD_HOST)]
    assert old["older"] and old["current"] == NEW
    assert old["object_versions"]["ScheduledEvent"] == "1.0"
    new = services[("nova-compute", NEW_HOST)]
    assert new["rpc_version"] == NEW and not new["older"]
    assert new["object_versions"]["ScheduledEvent"] == "1.1"
    caps = {c["topic"]: c for c in report["caps"]}
    assert caps["compute"] == {
        "service": "compute", "topic": "compute", "configured": "auto",
        "cap": OLD_COMPUTE_VERSION, "newest": NEW,
    }  # fmt: skip
    assert caps["conductor"]["cap"] is None  # not configured: no cap
    assert "compute_0004" in report["pending_contract"]["compute"]
    assert report["pending_expand"] == {}
    results = {c["name"]: c["result"] for c in report["checks"]}
    assert results == {
        "Database expand": "Success",
        "Service versions": "Warning",
        "RPC version caps": "Warning",
        "Database contract": "Warning",
    }
    refused = upgrade.tinystack("db", "contract")
    assert refused.returncode == 1
    assert f"nova-compute on {OLD_HOST} ({OLD_COMPUTE_VERSION})" in refused.stderr

    # boot on both: capped at 2.1, every agent gets ScheduledEvent 1.0 (without the
    # conductor's host, so each records its own); the old one refuses anything else
    old_vm = boot_on(env, OLD_HOST, "tsup-old-vm")
    new_vm = boot_on(env, NEW_HOST, "tsup-new-vm")
    assert scheduled_on(env, old_vm["id"]) == OLD_HOST
    assert scheduled_on(env, new_vm["id"]) == NEW_HOST

    # resize on the old host (prep, resize, finish at 2.1), confirm
    env.compute.post(f"/servers/{old_vm['id']}/action", {"resize": {"flavorRef": "2"}}, 202)
    env.wait(old_vm["id"], "VERIFY_RESIZE")
    env.compute.post(f"/servers/{old_vm['id']}/action", {"confirmResize": None}, 204)
    resized = env.wait(old_vm["id"], "ACTIVE")
    assert resized["flavor"]["original_name"] == "m1.small"
    # cold migration from the new host to the old one, confirmed
    env.compute.post(f"/servers/{new_vm['id']}/action", {"migrate": {"host": OLD_HOST}}, 202)
    env.wait(new_vm["id"], "VERIFY_RESIZE")
    env.compute.post(f"/servers/{new_vm['id']}/action", {"confirmResize": None}, 204)
    assert env.wait(new_vm["id"], "ACTIVE")["OS-EXT-SRV-ATTR:host"] == OLD_HOST

    for vm in (old_vm, new_vm):
        env.compute.delete(f"/servers/{vm['id']}", 204)
    for vm in (old_vm, new_vm):
        env.wait(vm["id"], "DELETED")

    # upgrade the old host: same configuration, this release
    upgrade.agent.stop()
    upgrade.agent.start(old=False)
    upgrade.wait_service(OLD_HOST, NEW)
    code, report = upgrade.check()
    assert not any(s["older"] for s in report["services"])
    assert {c["topic"]: c["cap"] for c in report["caps"]}["compute"] == NEW
    assert "compute_0004" in report["pending_contract"]["compute"] and code == 1
    contracted = upgrade.tinystack("db", "contract")
    assert contracted.returncode == 0, contracted.stderr
    assert "compute_0004" in json.loads(contracted.stdout)["contracted"]["compute"]
    code, report = upgrade.check()
    assert code == 0 and report["pending_contract"] == {}, report["checks"]

    time.sleep(2.5)  # the agents' auto cap refreshes (VersionCap)
    upgraded = boot_on(env, OLD_HOST, "tsup-upgraded-vm")
    assert scheduled_on(env, upgraded["id"]) == CONDUCTOR_HOST
    env.compute.delete(f"/servers/{upgraded['id']}", 204)
    env.wait(upgraded["id"], "DELETED")
