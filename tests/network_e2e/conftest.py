"""End to end: a real ``tinystack up`` with real QEMU guests on the Linux data plane.

One cloud per module runs every service with ``[compute] compute_driver = qemu`` and
``[network] dataplane = linux``; the tests drive it with the ``openstack`` CLI and reach
guests only from an "outside host": a network namespace of the test's own, plugged into
the public network's bridge. The public network is a flat network on a bridge with no
uplink, in a documentation range (203.0.113.0/24); nothing leaves the machine.

Everything the cloud makes carries the run's tag (namespace prefixes, the public bridge,
the iptables chain prefix); the finalizer stops the cloud, kills its QEMUs by PID and
removes whatever still carries the tag or belongs to the networks the tests made.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cloudproc import CloudProcess
from tests.compute_qemu.conftest import cleanup_state
from tests.network_dataplane.support import (
    Namespace,
    cleanup_tagged,
    remove_agent_leftovers,
    run,
    tools_missing,
    wait_for,
)
from tinystack.guest import build, hostdeps

PUBLIC_CIDR = "203.0.113.0/24"
OUTSIDE_ADDRESS = "203.0.113.1"
SSH_OPTIONS = [
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "BatchMode=yes",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "ConnectTimeout=4",
]


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (QEMU taps, namespaces, bridges, iptables)"
    missing = tools_missing()
    for tool in ("qemu-system-x86_64", "qemu-img", "dnsmasq", "ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            missing.append(tool)
    missing += hostdeps.missing_packages(hostdeps.BUILD_PACKAGES)
    if missing:
        return "missing: " + ", ".join(missing)
    return None


SKIP = _skip_reason()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "network_e2e" in str(item.fspath):
            item.add_marker(pytest.mark.root)
            item.add_marker(pytest.mark.cli)
            if SKIP:
                item.add_marker(pytest.mark.skip(reason=SKIP))


def extra_conf(tag: str, vni_base: int) -> str:
    return f"""
[compute]
compute_driver = qemu
accel = tcg
report_interval = 1
sync_power_state_interval = 2
vnc_port_min = 17000
vnc_port_max = 17099
[network]
dataplane = linux
bridge_mappings = public:{tag}-ex
router_namespace_prefix = {tag}-qr-
dhcp_namespace_prefix = {tag}-qd-
firewall_chain_prefix = T{tag[1:]}
vni_ranges = {vni_base}:{vni_base + 99}
report_interval = 2
bootstrap_networks = false
dataplane_cleanup_on_stop = false
"""


class Cloud:
    """The running cloud, its outside host and the helpers the tests share."""

    def __init__(self, proc: CloudProcess, tag: str, key: Path) -> None:
        self.proc = proc
        self.tag = tag
        self.key = key
        self.chain_prefix = "T" + tag[1:]
        self.public_bridge = f"{tag}-ex"
        self.outside: Namespace | None = None
        self.networks: list[str] = []
        self.state: dict[str, Any] = {}
        self.transport: str | None = None
        self.api = httpx.Client(
            base_url=proc.endpoint("compute"),
            headers={"X-Auth-Token": proc.token(), "OpenStack-API-Version": "compute 2.1"},
            timeout=30,
        )

    # -- CLI -----------------------------------------------------------------------------

    def osc(self, *args: str) -> Any:
        return self.proc.osc(*args)

    def osc_ok(self, *args: str) -> None:
        result = self.proc.osc_raw(*args)
        assert result.returncode == 0, f"openstack {' '.join(args)}: {result.stderr}"

    # -- guests --------------------------------------------------------------------------

    def console(self, server_id: str) -> str:
        resp = self.api.post(f"/servers/{server_id}/action", json={"os-getConsoleOutput": {}})
        return str(resp.json().get("output", "")) if resp.status_code == 200 else ""

    def wait_console(self, server_id: str, text: str, timeout: float = 120) -> str:
        """The console once ``text`` is on it, up to its last whole line: a guest's line
        can be read half-written (CI: a READY line cut before its addresses)."""

        def whole_lines() -> str:
            console = self.console(server_id)
            console = console[: console.rfind("\n") + 1]
            return console if text in console else ""

        log = str(wait_for(whole_lines, timeout, 1.0))
        assert text in log, (
            f"{text!r} not on the console of {server_id}:\n" + self.console(server_id)[-3000:]
        )
        return log

    def wait_status(self, server_id: str, status: str, timeout: float = 60) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            server = self.api.get(f"/servers/{server_id}").json()["server"]
            if server["status"] == "ERROR":
                raise AssertionError(f"{server_id} is in ERROR: {server.get('fault')}")
            ok = server["status"] == status and server["OS-EXT-STS:task_state"] is None
            return server if ok else None

        server = wait_for(check, timeout, 0.2)
        assert server, f"{server_id} did not reach {status}"
        return dict(server)

    # -- the outside host ----------------------------------------------------------------

    def outside_host(self) -> Namespace:
        """A host on the public bridge holding the external subnet's gateway address."""
        if self.outside is None:
            assert wait_for(lambda: os.path.exists(f"/sys/class/net/{self.public_bridge}"), 20)
            ns = Namespace(f"{self.tag}-out")
            near = f"{self.tag}-o"
            veth = ["type", "veth", "peer", "name", "eth0", "netns", ns.name]
            run(["ip", "link", "add", near, *veth])
            run(["ip", "link", "set", near, "master", self.public_bridge, "up"])
            ns.sh("ip", "link", "set", "eth0", "up")
            ns.sh("ip", "addr", "add", f"{OUTSIDE_ADDRESS}/24", "dev", "eth0")
            self.outside = ns
        return self.outside

    def ping(self, address: str, wait: float = 1) -> bool:
        return self.outside_host().ping(address, wait=wait)

    def ssh(
        self, address: str, command: str, user: str = "root"
    ) -> subprocess.CompletedProcess[str]:
        """Run ``command`` in a guest over ssh from the outside host."""
        cmd = ["ip", "netns", "exec", self.outside_host().name, "ssh", "-i", str(self.key)]
        return subprocess.run(
            [*cmd, *SSH_OPTIONS, f"{user}@{address}", command],
            capture_output=True,
            text=True,
            timeout=60,
        )

    def http_get(self, address: str, port: int = 80) -> str | None:
        code = (
            "import sys,urllib.request\n"
            "print(urllib.request.urlopen(f'http://{sys.argv[1]}:{sys.argv[2]}/', timeout=3)"
            ".read().decode().strip())\n"
        )
        ns = self.outside_host().name
        proc = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, "-c", code, address, str(port)],
            capture_output=True,
            text=True,
            timeout=20,
        )
        return proc.stdout.strip() if proc.returncode == 0 else None

    # -- what the data plane made --------------------------------------------------------

    def chain_rules(self, save: str = "iptables-save") -> list[str]:
        """The host's rules of this cloud's chains (``ip6tables-save`` for IPv6)."""
        out = subprocess.run([save], capture_output=True, text=True, check=True).stdout
        return [line for line in out.splitlines() if self.chain_prefix in line]

    def namespaces(self) -> list[str]:
        names = os.listdir("/run/netns") if os.path.isdir("/run/netns") else []
        return sorted(n for n in names if n.startswith(self.tag) and n != f"{self.tag}-out")

    def namespace_rules(self, namespace: str) -> list[str]:
        out = run(["ip", "netns", "exec", namespace, "iptables-save"], check=False)
        return sorted(line for line in out.splitlines() if line.startswith("-A"))

    def links(self, prefix: str) -> list[str]:
        return sorted(n for n in os.listdir("/sys/class/net") if n.startswith(prefix))


def _remove_network_links(network_ids: list[str]) -> list[str]:
    left = []
    for net in network_ids:
        name = f"brq{net[:11]}"
        if os.path.exists(f"/sys/class/net/{name}"):
            left.append(name)
            run(["ip", "link", "delete", name], check=False)
    return left


@contextlib.contextmanager
def cloud_fixture(
    factory: pytest.TempPathFactory,
    two_hosts: bool = False,
    compute_extra: str = "",
    debug: bool = False,
) -> Iterator[tuple[Cloud, str, int]]:
    """A running cloud; with ``two_hosts``, on RabbitMQ (a virtual host of its own) with
    an underlay bridge holding host 1's VTEP address (and ``compute_extra`` lines in its
    ``[compute]``, ``{address}`` standing for that address); ``debug``: its log at DEBUG.
    Yields (cloud, underlay, octet)."""
    if SKIP:
        pytest.skip(SKIP)
    tag = "e" + uuid.uuid4().hex[:5]
    state = factory.mktemp("e2e-cloud")
    image = build.build_test_image(factory.mktemp("e2e-image")).image
    (state / "bootstrap-images").mkdir()
    shutil.copyfile(image, state / "bootstrap-images" / "tinystack-test.qcow2")
    key = state / "id_ed25519"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
    vni_base = 30000 + int(tag[1:], 16) % 30000
    conf = extra_conf(tag, vni_base)
    underlay, octet, vhost, transport = f"{tag}-u", int(tag[1:], 16) % 200 + 20, "", None
    if two_hosts:
        vhost = f"tinystack-{tag}"
        transport = _rabbit_vhost(vhost)
        if transport is None:
            pytest.skip("cannot make a RabbitMQ virtual host (rabbitmqctl)")
        run(["ip", "link", "add", underlay, "type", "bridge"])
        run(["ip", "addr", "add", f"198.18.{octet}.1/24", "dev", underlay])
        run(["ip", "link", "set", underlay, "up"])
        conf += f"local_ip = 198.18.{octet}.1\n[DEFAULT]\ntransport_url = {transport}\n"
        conf += f"[compute]\nlive_migration_inbound_addr = 198.18.{octet}.1\n"
        if compute_extra:
            conf += compute_extra.format(address=f"198.18.{octet}.1") + "\n"
    proc = CloudProcess(state, None, conf, debug=debug)
    result: Cloud | None = None
    try:
        proc.start(timeout=120)
        result = Cloud(proc, tag, key)
        result.transport = transport
        yield result, underlay, octet
    finally:
        proc.stop()
        cleanup_state(state, test_devices=False)  # their taps are their ports'
        if result is not None:
            if result.outside is not None:
                result.outside.destroy()
            _remove_network_links(result.networks)
            for port in result.state.get("ports", {}).values():
                tap = f"tap{port['id'][:11]}"  # QEMU's taps outlive a killed QEMU
                if os.path.exists(f"/sys/class/net/{tap}"):
                    run(["ip", "link", "delete", tap], check=False)
        cleanup_tagged(tag)
        vnis = {f"vxlan-{vni}" for vni in range(vni_base, vni_base + 100)}
        for link in os.listdir("/sys/class/net"):
            if link in vnis:  # the VXLAN devices of this run's VNIs
                run(["ip", "link", "delete", link], check=False)
        remove_agent_leftovers("T" + tag[1:])  # with the veth into the public bridge
        if vhost:
            subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True, timeout=60)


def _rabbit_vhost(name: str) -> str | None:
    """A RabbitMQ virtual host for this run; None when that cannot be made here."""
    if shutil.which("rabbitmqctl") is None:
        return None
    for cmd in (
        ["rabbitmqctl", "add_vhost", name],
        ["rabbitmqctl", "set_permissions", "-p", name, "guest", ".*", ".*", ".*"],
    ):
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if proc.returncode != 0:
            return None
    return f"rabbit://guest:guest@127.0.0.1:5672/{name}"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    with cloud_fixture(tmp_path_factory) as (result, _, _):
        yield result
