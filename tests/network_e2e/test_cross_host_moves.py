"""Guests moving between two QEMU hosts: resize (revert and confirm) and cold migration
with their disks copied over NBD, and evacuation from a dead host.

Host 2 is a namespace on the underlay (``test_two_hosts.SecondHost``); each host's
``my_ip`` is its underlay address, so the destination pulls the disks from the source's
exports across the underlay. A guest keeps a marker 512 MiB into its root disk and prints
its checksum at every boot (``XH-SUM``), read back from the console of the host it runs on.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.network_dataplane.support import wait_for
from tests.network_e2e.conftest import Cloud, cloud_fixture
from tests.network_e2e.test_two_hosts import UNDERLAY, SecondHost

pytestmark = pytest.mark.rabbit
#: each host's migration address; config drives carry the user data (no metadata route)
COMPUTE_EXTRA = "my_ip = {address}\nforce_config_drive = true"
#: a marker 512 MiB into the root disk, written once; its checksum printed at every boot
USER_DATA = """#!/bin/sh
at=1048576
m=$(dd if=/dev/vda bs=512 skip=$at count=1 2>/dev/null | head -c 5)
if [ "$m" != "TSXH-" ]; then
    printf 'TSXH-%s\\n' "$(head -c 16 /dev/urandom | md5sum | cut -c1-16)" |
        dd of=/dev/vda bs=512 seek=$at conv=notrunc 2>/dev/null
    sync
fi
sum=$(dd if=/dev/vda bs=512 skip=$at count=1 2>/dev/null | md5sum | cut -c1-32)
echo "XH-SUM $sum boot=$(cat /proc/sys/kernel/random/boot_id)"
"""
SUM = re.compile(r"XH-SUM ([0-9a-f]{32}) boot=([0-9a-f-]+)")


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cloud, SecondHost]]:
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


class Guests:
    """Boots, and what the test reads of a guest on either host."""

    def __init__(self, cloud: Cloud, host2: SecondHost) -> None:
        self.cloud, self.host2 = cloud, host2
        self.h1 = str(cloud.osc("network", "agent", "list", "--agent-type", "l3")[0]["Host"])
        self.seen: set[str] = set()
        self.ports: dict[str, str] = {}
        self.script = Path(cloud.proc.state_dir) / "user-data-xh"
        self.script.write_text(USER_DATA)

    def boot(self, name: str, net: str, host: str) -> str:
        port = self.cloud.osc("port", "create", "--network", net, f"{self.cloud.tag}-{name}")
        self.cloud.state.setdefault("ports", {})[name] = {"id": port["id"]}
        server = self.cloud.osc(
            "server", "create", "--image", "tinystack-test", "--flavor", "m1.tiny",
            "--port", port["id"], "--user-data", str(self.script),
            "--availability-zone", f"nova:{host}", f"{self.cloud.tag}-{name}",
        )  # fmt: skip
        self.ports[server["id"]] = port["id"]
        return str(server["id"])

    def new_boot_sum(self, sid: str, timeout: float = 240) -> str:
        """The root disk's marker checksum printed by a boot not seen before."""

        def fresh() -> str | None:
            for found, boot in SUM.findall(self.cloud.console(sid)):
                if boot not in self.seen:
                    self.seen.add(boot)
                    return str(found)
            return None

        found = wait_for(fresh, timeout, 1.0)
        assert found, f"no new boot of {sid}:\n{self.cloud.console(sid)[-3000:]}"
        return str(found)

    def show(self, sid: str) -> dict[str, object]:
        return dict(self.cloud.api.get(f"/servers/{sid}").json()["server"])

    def host_of(self, sid: str) -> str:
        return str(self.show(sid)["OS-EXT-SRV-ATTR:host"])

    def state_dir(self, host: str) -> Path:
        return self.host2.state if host == self.host2.name else Path(self.cloud.proc.state_dir)

    def leftovers(self, sid: str, host: str) -> list[str]:
        """What of the guest is left on ``host``: QEMUs, its tap, its directories."""
        found = [f"qemu {pid}" for pid in qemus(sid, self.state_dir(host))]
        instances = self.state_dir(host) / "instances"
        found += [str(p) for p in (instances / sid, instances / f"{sid}_resize") if p.exists()]
        tap = f"tap{self.ports[sid][:11]}"
        if host == self.host2.name:
            if tap in self.host2.ns.sh("ip", "-o", "link", "show"):
                found.append(f"{tap} in {self.host2.ns.name}")
        elif Path(f"/sys/class/net/{tap}").exists():
            found.append(tap)
        return found


def qemus(uuid: str, under: Path | None = None) -> list[int]:
    """The PIDs of live QEMUs started for instance ``uuid`` (on either host, or the one
    whose state directory is ``under``)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            args = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if not args or b"qemu-system" not in args[0] or uuid.encode() not in args:
            continue
        if state != "Z" and (under is None or any(str(under).encode() in a for a in args)):
            pids.append(int(entry))
    return pids


def test_resize_migrate_and_evacuate_across_hosts(hosts: tuple[Cloud, SecondHost]) -> None:
    cloud, host2 = hosts
    net = cloud.osc("network", "create", f"{cloud.tag}-xh")
    cloud.networks.append(net["id"])
    cloud.osc("subnet", "create", "--network", net["id"],
              "--subnet-range", "10.93.0.0/24", f"{cloud.tag}-xh-v4")  # fmt: skip
    g = Guests(cloud, host2)
    h1, h2 = g.h1, host2.name

    # -- resize to the other host, reverted: back on h1 with its disk, nothing left on h2
    a = g.boot("a", net["id"], h1)
    cloud.wait_status(a, "ACTIVE", timeout=120)
    original = g.new_boot_sum(a)
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
    b = g.boot("b", net["id"], h2)
    cloud.wait_status(b, "ACTIVE", timeout=120)
    before = g.new_boot_sum(b)
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
    for sid in (a, b):
        cloud.osc_ok("server", "delete", "--wait", sid)
        assert not qemus(sid)
