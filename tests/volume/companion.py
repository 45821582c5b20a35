"""A block storage process beside a test cloud (``tinystack serve volume`` on another
host name, over RabbitMQ): the cloud's ports, database and keys, its own state
directory; started, killed -9 and started again by PID."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cloudproc import CloudProcess, free_port
from tests.volume.conftest import Env

BIN = Path(sys.executable).parent


@pytest.fixture
def vhost() -> Iterator[str]:
    """A RabbitMQ virtual host of its own (removed after)."""
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not installed")
    name = f"vol-snap-{uuid.uuid4().hex[:8]}"
    for cmd in (
        ["rabbitmqctl", "add_vhost", name],
        ["rabbitmqctl", "set_permissions", "-p", name, "guest", ".*", ".*", ".*"],
    ):
        if subprocess.run(cmd, capture_output=True, timeout=60).returncode != 0:
            pytest.skip("cannot make a RabbitMQ virtual host here")
    yield f"rabbit://guest:guest@127.0.0.1:5672/{name}"
    subprocess.run(["rabbitmqctl", "delete_vhost", name], capture_output=True, timeout=60)


def companion_conf(main: CloudProcess, state: Path, transport: str, *volume: str) -> Path:
    """The companion's config in ``state`` (made here); ``volume`` are its own
    ``[volume]`` lines (``enabled_workers``, ``host``, a driver...)."""
    state.mkdir()
    shutil.copy(main.state_dir / "secrets.json", state / "secrets.json")
    shutil.copytree(main.state_dir / "fernet-keys", state / "fernet-keys")
    conf = state / "tinystack.conf"
    conf.write_text(
        "\n".join([
            "[DEFAULT]",
            f"state_dir = {state}",
            f"enabled_services = {','.join(main.services)}",
            f"transport_url = {transport}",
            "[identity]",
            f"port = {main.ports['identity']}",
            "[image]",
            f"port = {main.ports['image']}",
            "[volume]",
            f"port = {free_port()}",
            f"connection = sqlite:///{main.state_dir / 'volume.sqlite'}",
            "report_interval = 1",
            *volume,
        ])
        + "\n"
    )  # fmt: skip
    return conf


class Companion:
    """The process of ``conf``, up once the service ``binary`` of ``host`` is."""

    def __init__(self, conf: Path, log: Path, binary: str, host: str) -> None:
        self.conf = conf
        self.log = log
        self.binary = binary
        self.host = host
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, env: Env, timeout: float = 90) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "tinystack"), "serve", "volume", "--config-file", str(self.conf)],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        # (a restart: the last heartbeat may pass)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            services = env.admin.get("/os-services", params={"binary": self.binary}).json()
            if any(s["host"] == self.host and s["state"] == "up" for s in services["services"]):
                return
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            time.sleep(0.5)
        raise AssertionError(f"{self.binary} of {self.host} never came up")

    def kill(self) -> None:
        """SIGKILL to its whole process group (its own session: only what it started)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
