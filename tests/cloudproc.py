"""Run a real ``tinystack up`` on ephemeral ports in a subprocess, driven by real clients."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests import cloud_fork, osc_fork
from tinystack.deploy import registry

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NO_FORMAT_VERBS = {"delete", "set", "unset", "add", "remove", "revoke", "save"}


class OscError(subprocess.CalledProcessError):
    """A failed ``openstack`` command whose message carries the client's stderr and the
    cloud's last warnings, so a failure in CI says what the cloud answered and why."""

    cloud_log = ""

    def __str__(self) -> str:
        return (
            f"{super().__str__()}\nstderr: {str(self.stderr or '')[-2000:]}"
            f"\ncloud warnings:\n{self.cloud_log}"
        )


#: where test servers listen: below the kernel's ephemeral range (32768+), so no outgoing
#: connection takes a port before its server binds it, and above the 21000-21999 that
#: engineers use for clouds started by hand
PORTS = (22000, 32000)
_ISSUED: set[int] = set()


def _worker_ports() -> tuple[int, int]:
    """This test process's slice of :data:`PORTS`: under pytest-xdist each worker draws
    from its own slice, so two workers never hand out the same port."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if not worker.startswith("gw") or count < 2:
        return PORTS
    index = int(worker[2:])
    span = (PORTS[1] - PORTS[0]) // count
    return PORTS[0] + index * span, PORTS[0] + (index + 1) * span - 1


WORKER_PORTS = _worker_ports()


def free_port() -> int:
    """A port nothing listens on now, never handed out twice by this test process
    (random, so concurrent test runs on one machine rarely meet)."""
    while True:
        port = random.randint(*WORKER_PORTS)
        if port in _ISSUED:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _ISSUED.add(port)
        return port


class CloudProcess:
    """A ``tinystack up`` process with its own state directory and ports; with ``serve``,
    a ``tinystack serve <service>`` process instead (the distributed mode: identity is
    elsewhere, named by ``[DEFAULT] auth_url`` in ``extra_conf``)."""

    def __init__(
        self,
        state_dir: Path,
        services: list[str] | None = None,
        extra_conf: str = "",
        serve: str | None = None,
        debug: bool = False,
    ) -> None:
        self.state_dir = state_dir
        self.serve = serve
        #: log at DEBUG (tests that check what the log must never hold)
        self.debug = debug
        self.services = services or registry.available()
        self.ports = {name: free_port() for name in self.services}
        self.metadata_port = free_port()  # compute's metadata API
        #: compute's console proxies (noVNC, serial)
        self.console_ports = {"novncproxy": free_port(), "serialproxy": free_port()}
        self.conf_file = state_dir / "tinystack.conf"
        self.log_file = state_dir / "tinystack.log"
        self.proc: subprocess.Popen[bytes] | cloud_fork.Forked | None = None
        #: more arguments of ``tinystack up``/``serve`` (``--debug``)
        self.extra_args: list[str] = []
        lines = [
            "[DEFAULT]",
            f"state_dir = {state_dir}",
            f"enabled_services = {','.join(self.services)}",
            "[identity]",
            "password_hash_rounds = 4",
        ]
        for name, port in self.ports.items():
            lines += [f"[{name}]", f"port = {port}"]
            if name == "network":
                # The shared cloud exercises the APIs; data-plane tests ask for `linux`.
                lines.append("dataplane = none")
            if name == "load_balancer":
                # no HAProxy namespaces unless a test asks for them
                lines.append("dataplane = none")
            if name == "compute":
                # In-memory hosts unless a test asks for the QEMU driver.
                lines.append("compute_driver = fake")
                lines.append(f"metadata_listen_port = {self.metadata_port}")
                lines.append("[console]")
                lines += [f"{proxy}_port = {num}" for proxy, num in self.console_ports.items()]
            if name == "dashboard":
                # upstream Horizon (when installed) only where a test asks for it
                lines.append("horizon_port = 0")
            if name == "volume":
                # exports of remote attachments: never the default 10809 another cloud on
                # this machine may hold (a test's own [volume] nbd_port, later, wins)
                lines.append(f"nbd_port = {free_port()}")
            if name == "object_store":
                # the storage servers' ports (the default ring is re-addressed to them)
                lines += [
                    f"{kind}_port = {free_port()}" for kind in ("object", "container", "account")
                ]
                lines += ["part_power = 6"]
        state_dir.mkdir(parents=True, exist_ok=True)
        self.conf_file.write_text("\n".join(lines) + "\n" + extra_conf)
        self.env = {
            **os.environ,
            "OS_CLIENT_CONFIG_FILE": str(state_dir / "clouds.yaml"),
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        }
        for key in list(self.env):
            if key.startswith("OS_") and key != "OS_CLIENT_CONFIG_FILE":
                del self.env[key]

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['identity']}/v3"

    def start(self, timeout: float = 60) -> float:
        """Start and wait for identity to answer; returns the seconds it took (from the
        spawn: the fork server's one-time imports do not count)."""
        command = ["serve", self.serve] if self.serve else ["up"]
        argv = [*command, "--config-file", str(self.conf_file), *self.extra_args]
        if self.debug:
            argv.append("--debug")
        # test-only plugins (e.g. tests.volume.sparse_driver) import from the checkout
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        self.proc = cloud_fork.spawn(argv, env, self.log_file)
        if self.proc is None:
            with open(self.log_file, "ab") as log:  # the child's own copy stays open
                self.proc = subprocess.Popen(
                    [str(BIN / "tinystack"), *argv],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env=env,
                )
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"tinystack up exited ({self.proc.returncode}): "
                    f"{self.log_file.read_text()[-3000:]}"
                )
            pidfile = f"tinystack-{self.serve}.pid" if self.serve else "tinystack.pid"
            if (self.state_dir / pidfile).exists() and self._answers():
                return time.monotonic() - started
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"cloud not ready in {timeout}s: {self.log_file.read_text()[-3000:]}")

    def _answers(self) -> bool:
        url = f"http://127.0.0.1:{self.ports[self.serve]}/" if self.serve else self.auth_url
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                return bool(resp.status == 200)
        except urllib.error.HTTPError as exc:  # image's version document is a 300
            return self.serve is not None and exc.code < 500
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return code

    # -- clients -----------------------------------------------------------------------------

    def osc_raw(
        self, *args: str, cloud: str = "tinystack-admin"
    ) -> subprocess.CompletedProcess[str]:
        return osc_fork.run(["--os-cloud", cloud, *args], self.env, timeout=120)

    def osc(self, *args: str, cloud: str = "tinystack-admin") -> Any:
        """Run an openstack CLI command; JSON output is parsed. Raises on failure."""
        verbs = set(args[:4])
        wants_format = "-f" not in args and not (verbs & NO_FORMAT_VERBS)
        full = [*args, "-f", "json"] if wants_format else list(args)
        result = self.osc_raw(*full, cloud=cloud)
        if result.returncode != 0 and wants_format and "unrecognized arguments" in result.stderr:
            result = self.osc_raw(*args, cloud=cloud)
            wants_format = False
        if result.returncode != 0:
            error = OscError(result.returncode, ["openstack", *full], result.stdout, result.stderr)
            error.cloud_log = self.log_warnings()
            raise error
        if wants_format and result.stdout.strip():
            return json.loads(result.stdout)
        return result.stdout

    def log_warnings(self, count: int = 30) -> str:
        """The log's last ``count`` WARNING/ERROR lines and failed requests."""
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        failed = re.compile(r"WARNING|ERROR|tinystack\.access: .* [45]\d\d ")
        return "\n".join([ln for ln in lines if failed.search(ln)][-count:])

    def sdk(self, cloud: str = "tinystack-admin") -> Any:
        import openstack

        os.environ["OS_CLIENT_CONFIG_FILE"] = str(self.state_dir / "clouds.yaml")
        return openstack.connect(cloud=cloud)

    def endpoint(self, service_type: str) -> str:
        name = next(n for n in self.services if registry.load(n).service_type == service_type)
        spec = registry.load(name)
        return f"http://127.0.0.1:{self.ports[name]}{spec.url_suffix}"

    def password(self, user: str) -> str:
        secrets: dict[str, str] = json.loads((self.state_dir / "secrets.json").read_text())
        return secrets[user]

    def token(self, cloud: str = "tinystack-admin") -> str:
        return str(self.osc("token", "issue", cloud=cloud)["id"])
