"""Two hosts: a guest on a second compute host pings a guest on the first over VXLAN;
guests move between the hosts (resize, cold migration, evacuation of a dead host).

The second "host" is a network namespace with its own VTEP address on a test underlay
bridge. Its compute agent (``tinystack serve compute`` with ``enabled_workers = agent``)
and L2 agent (``tinystack serve network`` with ``dataplane_agents = l2``) are separate
processes on RabbitMQ (a virtual host of the run's own) and the main cloud's databases;
their taps and QEMUs live in that namespace, so the two guests can only meet through
the VXLAN tunnel over the underlay.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cloudproc import BIN, free_port
from tests.compute_qemu.conftest import cleanup_state
from tests.network_dataplane.support import Namespace, run, wait_for
from tests.network_e2e.conftest import Cloud, cloud_fixture
from tests.network_e2e.guest_moves import COMPUTE_EXTRA, Guests, qemus

pytestmark = pytest.mark.rabbit
UNDERLAY = "198.18.{n}.{h}"


class SecondHost:
    """Host 2: a namespace on the underlay and its compute + L2 agent processes."""

    def __init__(
        self, cloud: Cloud, underlay: str, vtep: str, transport: str, compute_extra: str = ""
    ) -> None:
        self.cloud = cloud
        self.name = f"{cloud.tag}-h2"
        self.state = Path(cloud.proc.state_dir).parent / f"{cloud.tag}-host2"
        self.state.mkdir()
        self.ns = Namespace(self.name)
        self.procs: list[subprocess.Popen[bytes]] = []
        near = f"{cloud.tag}-u2"
        run(["ip", "link", "add", near, "type", "veth", "peer", "name", "eth0",
             "netns", self.ns.name])  # fmt: skip
        run(["ip", "link", "set", near, "master", underlay, "up"])
        self.ns.sh("ip", "addr", "add", f"{vtep}/24", "dev", "eth0")
        self.ns.sh("ip", "link", "set", "eth0", "up")
        main = cloud.proc
        # what a real deployment copies to its compute nodes: the config, passwords, keys
        shutil.copy(main.state_dir / "secrets.json", self.state / "secrets.json")
        shutil.copytree(main.state_dir / "fernet-keys", self.state / "fernet-keys")
        lines = [
            "[DEFAULT]",
            f"state_dir = {self.state}",
            f"enabled_services = {','.join(main.services)}",
            f"transport_url = {transport}",
            "[identity]",
            f"port = {main.ports['identity']}",
            "[placement]",
            f"port = {main.ports['placement']}",
            "[image]",
            f"port = {main.ports['image']}",
            # the block storage service, for volumes attached on this host
            *(["[volume]", f"port = {main.ports['volume']}"] if "volume" in main.ports else []),
            "[compute]",
            f"port = {free_port()}",
            f"connection = sqlite:///{main.state_dir / 'compute.sqlite'}",
            f"metadata_listen_port = {free_port()}",
            "compute_driver = qemu",
            "accel = tcg",
            f"host = {self.name}",
            f"host_namespace = {self.ns.name}",
            "enabled_workers = agent",
            "report_interval = 1",
            "vnc_port_min = 17100",
            "vnc_port_max = 17199",
            *compute_extra.format(address=vtep).splitlines(),
            "[console]",
            f"novncproxy_port = {free_port()}",
            f"serialproxy_port = {free_port()}",
            "[network]",
            f"port = {free_port()}",
            f"connection = sqlite:///{main.state_dir / 'network.sqlite'}",
            "dataplane = linux",
            "dataplane_agents = l2",
            f"host = {self.name}",
            f"host_namespace = {self.ns.name}",
            f"local_ip = {vtep}",
            "bridge_mappings = ",
            f"firewall_chain_prefix = {cloud.chain_prefix}",
            "report_interval = 2",
            "bootstrap_networks = false",
        ]
        self.conf = self.state / "tinystack.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        for service in ("network", "compute"):
            self.procs.append(self.serve(service))

    def serve(self, service: str) -> subprocess.Popen[bytes]:
        """Start ``tinystack serve <service>`` of this host (its log appended to)."""
        with open(self.state / f"{service}.log", "ab") as log:
            return subprocess.Popen(
                [str(BIN / "tinystack"), "serve", service, "--config-file", str(self.conf)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def logs(self) -> str:
        return "\n".join(
            (self.state / f"{s}.log").read_text()[-2000:] for s in ("network", "compute")
        )

    def wait_ready(self) -> None:
        def up() -> bool:
            for proc in self.procs:
                assert proc.poll() is None, self.logs()
            agents = self.cloud.osc("network", "agent", "list", "--host", self.name)
            services = self.cloud.osc("compute", "service", "list", "--host", self.name)
            return any(a["Alive"] for a in agents) and any(s["State"] == "up" for s in services)

        assert wait_for(up, 90, 1.0), self.logs()

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        cleanup_state(self.state, test_devices=False)
        self.ns.destroy()


@pytest.fixture(scope="module")
def two_hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cloud, SecondHost]]:
    with cloud_fixture(tmp_path_factory, two_hosts=True, compute_extra=COMPUTE_EXTRA) as (
        cloud,
        underlay,
        octet,
    ):
        assert cloud.transport is not None
        vtep = UNDERLAY.format(n=octet, h=2)
        host2 = SecondHost(cloud, underlay, vtep, cloud.transport, compute_extra=COMPUTE_EXTRA)
        try:
            host2.wait_ready()
            yield cloud, host2
        finally:
            host2.stop()


def test_guests_on_two_hosts_ping_over_vxlan(two_hosts: tuple[Cloud, SecondHost]) -> None:
    cloud, host2 = two_hosts
    tag = cloud.tag
    net = cloud.osc("network", "create", f"{tag}-vx")
    cloud.networks.append(net["id"])
    assert net["provider:network_type"] == "vxlan"
    subnet = cloud.osc("subnet", "create", "--network", net["id"],
                       "--subnet-range", "10.91.0.0/24", f"{tag}-vx-v4")  # fmt: skip
    # a router on host 1 serves the metadata both guests ask for
    router = cloud.osc("router", "create", f"{tag}-vx-router")
    cloud.osc_ok("router", "add", "subnet", router["id"], subnet["id"])
    cloud.osc_ok("keypair", "create", "--public-key", f"{cloud.key}.pub", f"{tag}-key")
    host1 = str(cloud.osc("network", "agent", "list", "--agent-type", "l3")[0]["Host"])
    ports = {}
    for name in ("a", "c"):
        port = cloud.osc("port", "create", "--network", net["id"], f"{tag}-{name}")
        ports[name] = {"id": port["id"], "ip": port["fixed_ips"][0]["ip_address"]}
        cloud.state.setdefault("ports", {})[name] = ports[name]
    servers = {}
    for name, peer, host in (("a", "c", host1), ("c", "a", host2.name)):
        script = Path(cloud.proc.state_dir) / f"user-data-{name}"
        script.write_text(
            "#!/bin/sh\nn=0\n"
            f"until ping -c1 -W1 {ports[peer]['ip']} >/dev/null 2>&1; do\n"
            "    n=$((n+1)); [ $n -ge 120 ] && break; sleep 1\ndone\n"
            f"ping -c1 -W1 {ports[peer]['ip']} >/dev/null 2>&1 && "
            f"echo E2E-PEER-PING-OK {ports[peer]['ip']}\n"
        )
        server = cloud.osc(
            "server", "create", "--image", "tinystack-test", "--flavor", "m1.tiny",
            "--port", ports[name]["id"], "--key-name", f"{tag}-key",
            "--availability-zone", f"nova:{host}", "--user-data", str(script), f"{tag}-{name}",
        )  # fmt: skip
        servers[name] = server["id"]
    for name, sid in servers.items():
        server = cloud.wait_status(sid, "ACTIVE", timeout=90)
        expected = host1 if name == "a" else host2.name
        assert server["OS-EXT-SRV-ATTR:host"] == expected
    # guest c's tap is in host 2's namespace, not on host 1
    tap_c = f"tap{ports['c']['id'][:11]}"
    assert tap_c in host2.ns.sh("ip", "-o", "link", "show")
    assert not Path(f"/sys/class/net/{tap_c}").exists()
    for name, peer in (("a", "c"), ("c", "a")):
        log = cloud.wait_console(servers[name], f"E2E-PEER-PING-OK {ports[peer]['ip']}", 180)
        assert f"addresses={ports[name]['ip']}" in log
    for sid in servers.values():
        cloud.osc_ok("server", "delete", "--wait", sid)
    assert wait_for(lambda: tap_c not in host2.ns.sh("ip", "-o", "link", "show"), 20)


def test_resize_migrate_and_evacuate_across_hosts(two_hosts: tuple[Cloud, SecondHost]) -> None:
    cloud, host2 = two_hosts
    net = cloud.osc("network", "create", f"{cloud.tag}-xh")
    cloud.networks.append(net["id"])
    cloud.osc("subnet", "create", "--network", net["id"],
              "--subnet-range", "10.93.0.0/24", f"{cloud.tag}-xh-v4")  # fmt: skip
    g = Guests(cloud, host2)
    h1, h2 = g.h1, host2.name

    # a moves around; b, on h2, is evacuated at the end (both booted at once)
    a, b = g.boot("a", net["id"], h1), g.boot("b", net["id"], h2)
    for sid in (a, b):
        cloud.wait_status(sid, "ACTIVE", timeout=120)
    original, before = g.new_boot_sum(a), g.new_boot_sum(b)

    # -- resize to the other host, reverted: back on h1 with its disk, nothing left on h2
    cloud.osc_ok("server", "resize", "--flavor", "m1.small", a)
    cloud.wait_status(a, "VERIFY_RESIZE", timeout=240)
    assert g.host_of(a) == h2
    assert g.new_boot_sum(a) == original
    assert len(qemus(a)) == 1
    cloud.osc_ok("server", "resize", "revert", a)
    server = cloud.wait_status(a, "ACTIVE", timeout=180)
    assert server["OS-EXT-SRV-ATTR:host"] == h1
    assert server["flavor"]["id"] == "1"  # m1.tiny
    assert g.new_boot_sum(a) == original
    assert wait_for(lambda: not g.leftovers(a, h2), 30), g.leftovers(a, h2)

    # -- resize to h2, confirmed: h1 is cleaned
    cloud.osc_ok("server", "resize", "--flavor", "m1.small", a)
    cloud.wait_status(a, "VERIFY_RESIZE", timeout=240)
    assert g.new_boot_sum(a) == original
    cloud.osc_ok("server", "resize", "confirm", a)
    server = cloud.wait_status(a, "ACTIVE", timeout=60)
    assert server["OS-EXT-SRV-ATTR:host"] == h2
    assert server["flavor"]["id"] == "2"  # m1.small
    instances = g.state_dir(h1) / "instances"
    assert wait_for(lambda: not (instances / f"{a}_resize").exists(), 30)
    tap = f"tap{g.ports[a][:11]}"
    assert not Path(f"/sys/class/net/{tap}").exists()

    # -- cold migration back to h1 (scheduler's choice), confirmed
    cloud.osc_ok("server", "migrate", a)
    cloud.wait_status(a, "VERIFY_RESIZE", timeout=240)
    assert g.host_of(a) == h1
    assert g.new_boot_sum(a) == original
    cloud.osc_ok("server", "migration", "confirm", a)
    cloud.wait_status(a, "ACTIVE", timeout=60)
    assert wait_for(lambda: not g.leftovers(a, h2), 30), g.leftovers(a, h2)
    assert len(qemus(a)) == 1

    # -- evacuation: h2's agent dies, its guest is rebuilt on h1 from the image
    agent = host2.procs[1]
    os.killpg(agent.pid, signal.SIGKILL)
    agent.wait(30)
    assert len(qemus(b)) == 1  # the guest outlives its agent
    compute = ["--os-compute-api-version", "2.11", "compute", "service"]
    cloud.osc_ok(*compute, "set", "--down", h2, "nova-compute")
    # 2.29: before 2.95, whose evacuations leave the server stopped
    cloud.osc_ok("--os-compute-api-version", "2.29", "server", "evacuate", b)
    server = cloud.wait_status(b, "ACTIVE", timeout=240)
    assert server["OS-EXT-SRV-ATTR:host"] == h1
    assert g.new_boot_sum(b) != before  # a new root disk from the image
    migrations = cloud.osc("server", "migration", "list", "--server", b)
    assert [m["Status"] for m in migrations if m["Type"] == "evacuation"] == ["done"]

    # -- h2 comes back: it removes the stale guest instead of starting it
    host2.procs[1] = host2.serve("compute")
    cloud.osc_ok(*compute, "set", "--up", h2, "nova-compute")
    host2.wait_ready()
    assert wait_for(lambda: not g.leftovers(b, h2) and len(qemus(b)) == 1, 60), g.leftovers(b, h2)
    migrations = cloud.osc("server", "migration", "list", "--server", b)
    assert [m["Status"] for m in migrations if m["Type"] == "evacuation"] == ["completed"]
    cloud.osc_ok("server", "delete", "--wait", a, b)
    assert not qemus(a) and not qemus(b)
