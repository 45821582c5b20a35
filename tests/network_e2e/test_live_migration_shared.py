"""Live migration on shared storage between two real hosts (host 2 a network namespace on
the underlay, as in ``test_live_migration.py``, both hosts' ``[compute] instances_path``
one directory): ``openstack server migrate --live-migration`` (``block_migration: auto``)
while the router's namespace on host 1 pings the guest every 0.2 s.

Only the memory moves: the guest's disk is the same file before and after (its checksum,
read back in the guest, goes on; its inode is unchanged), the source waited for
``network-vif-plugged`` of the port on host 2 before the switch-over, the server ends
ACTIVE on host 2 with its allocations there only, and host 1 keeps no QEMU, tap or
runtime directory of it while the shared disk stays. Then host 2 dies and the server is
evacuated back to host 1 onto the same disk; host 2, restarted, removes only its stale
runtime files. Deleting the server removes the disk.

A server with a volume of the file backend (the storage service's NBD exports on host
1's underlay address) is resized to host 2 and reverted, then resized again and
confirmed: its disk stays in the shared directory (host 1 keeps ``<uuid>_resize`` there
until the confirm or revert), the guest reads back what it wrote in its root disk and in
the volume, the root disk has the flavor's size, and the volume's one attachment is the
host's the guest runs on.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cloudproc import free_port
from tests.compute_qemu.conftest import kill_qemus_under, qemu_pids_under
from tests.network_dataplane.support import wait_for
from tests.network_e2e.conftest import Cloud, cloud_fixture
from tests.network_e2e.test_live_migration import _allocation_hosts, _api, _boot, _ping, _sums
from tests.network_e2e.test_two_hosts import UNDERLAY, SecondHost

pytestmark = pytest.mark.rabbit


@pytest.fixture(scope="module")
def shared_hosts(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Cloud, SecondHost, Path]]:
    shared = tmp_path_factory.mktemp("e2e-shared-instances")
    extra = f"instances_path = {shared}"
    # a resize goes to the other host; the user data on a config drive (the resize test's
    # network has no router); the volume service's NBD exports on host 1's underlay
    # address, reachable from host 2
    cloud_extra = (
        f"{extra}\nallow_resize_to_same_host = false\nforce_config_drive = true\n"
        f"[volume]\ntarget_ip_address = {{address}}\nnbd_port = {free_port()}"
    )
    # at DEBUG: the test reads the source agent's INFO line about the ports' events
    fixture = cloud_fixture(tmp_path_factory, two_hosts=True, compute_extra=cloud_extra, debug=True)
    with fixture as found:
        cloud, underlay, octet = found
        assert cloud.transport is not None
        vtep = UNDERLAY.format(n=octet, h=2)
        options = f"live_migration_inbound_addr = {{address}}\n{extra}\nforce_config_drive = true"
        host2 = SecondHost(cloud, underlay, vtep, cloud.transport, compute_extra=options)
        try:
            host2.wait_ready()
            yield cloud, host2, shared
        finally:
            host2.stop()


def test_shared_storage_live_migration(shared_hosts: tuple[Cloud, SecondHost, Path]) -> None:
    cloud, host2, shared = shared_hosts
    host1 = str(cloud.osc("network", "agent", "list", "--agent-type", "l3")[0]["Host"])
    sid, address, router_ns = _boot(cloud, host1)
    server = cloud.wait_status(sid, "ACTIVE", timeout=120)
    assert server["OS-EXT-SRV-ATTR:host"] == host1
    disk = shared / sid / "disk.qcow2"
    runtime = Path(cloud.proc.state_dir) / "instances" / sid
    assert disk.is_file() and (runtime / "instance.json").is_file()
    assert not list(runtime.glob("disk.*"))
    inode = disk.stat().st_ino
    assert wait_for(lambda: _sums(cloud, sid), 180, 1.0), cloud.console(sid)[-2000:]
    before = _sums(cloud, sid)[-1]
    assert wait_for(lambda: _ping(router_ns, address), 60, 0.5)
    tap = f"tap{cloud.state['ports']['lm']['id'][:11]}"

    pinger = subprocess.Popen(
        ["ip", "netns", "exec", router_ns, "busybox", "ping", "-i", "0.2", "-W", "1", address],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        time.sleep(1)
        started = time.monotonic()
        cloud.osc_ok(
            "--os-compute-api-version", "2.30", "server", "migrate", "--live-migration",
            "--host", host2.name, sid,
        )  # fmt: skip
        server = cloud.wait_status(sid, "ACTIVE", timeout=180)
        took = time.monotonic() - started
        time.sleep(3)
    finally:
        pinger.terminate()
        out, _ = pinger.communicate(timeout=30)
    answered = {int(s) for s in re.findall(r"seq=(\d+)", out)}
    assert answered, out
    lost = max(answered) + 1 - len(answered)
    print(f"\nshared-storage live migration: {took:.1f}s, {lost} pings (0.2 s) lost")
    assert server["OS-EXT-SRV-ATTR:host"] == host2.name
    assert lost <= 10, out[-3000:]  # at most 2 s

    # the same disk file, the same contents read in the guest on host 2
    assert disk.stat().st_ino == inode
    count = len(_sums(cloud, sid))
    assert wait_for(lambda: len(_sums(cloud, sid)) > count, 60, 1.0), cloud.console(sid)[-2000:]
    assert _sums(cloud, sid)[-1] == before
    assert _allocation_hosts(cloud, sid) == [host2.name]
    with _api(cloud, "compute") as api:
        migrations: list[dict[str, Any]] = api.get(
            "/os-migrations", params={"instance_uuid": sid}
        ).json()["migrations"]
    assert [m["status"] for m in migrations] == ["completed"]
    assert _allocation_hosts(cloud, migrations[0]["uuid"]) == []
    # the source waited for the port's network-vif-plugged from host 2's L2 agent
    log = cloud.proc.log_file.read_text(errors="replace")
    assert f"{sid}: the ports are plugged on {host2.name}" in log
    # host 1 is clean: no QEMU, tap or runtime directory; the shared disk stays
    assert not qemu_pids_under(runtime) and not runtime.exists()
    assert not Path(f"/sys/class/net/{tap}").exists()
    assert tap in host2.ns.sh("ip", "-o", "link", "show")
    _evacuate_back(cloud, host2, sid, host1, disk)
    cloud.osc_ok("server", "delete", "--wait", sid)
    assert wait_for(lambda: not disk.parent.exists(), 30)


def _evacuate_back(cloud: Cloud, host2: SecondHost, sid: str, host1: str, disk: Path) -> None:
    """Host 2 dies (its agent and the guest's QEMU killed, the service forced down):
    ``server evacuate`` brings the guest up on host 1 from the same disk (shared storage
    detected, 2.14+); host 2's agent, started again, removes its stale runtime files and
    leaves the disk alone."""
    inode = disk.stat().st_ino
    stale = host2.state / "instances" / sid
    assert stale.is_dir()
    agent = host2.procs[1]
    agent.kill()
    agent.wait(30)
    assert kill_qemus_under(stale)
    cloud.osc_ok("--os-compute-api-version", "2.11", "compute", "service", "set", "--down",
                 host2.name, "nova-compute")  # fmt: skip
    cloud.osc_ok("--os-compute-api-version", "2.29", "server", "evacuate", "--host", host1, sid)
    server = cloud.wait_status(sid, "ACTIVE", timeout=180)
    assert server["OS-EXT-SRV-ATTR:host"] == host1
    assert disk.stat().st_ino == inode  # the disk kept, not rebuilt from the image
    # the guest boots again from it (host 1's console log is new; its script writes new
    # data at boot and prints its sums)
    assert wait_for(lambda: _sums(cloud, sid), 300, 1.0), cloud.console(sid)[-2000:]
    assert _allocation_hosts(cloud, sid) == [host1]
    assert stale.is_dir()  # host 2 is down: nothing removed it yet
    host2.procs[1] = host2.serve("compute")
    assert wait_for(lambda: not stale.exists(), 120, 1.0), host2.logs()
    assert disk.stat().st_ino == inode
    assert wait_for(lambda: _evacuation_status(cloud, sid) == "completed", 60)
    cloud.osc_ok("--os-compute-api-version", "2.11", "compute", "service", "set", "--up",
                 host2.name, "nova-compute")  # fmt: skip


def _evacuation_status(cloud: Cloud, sid: str) -> str | None:
    with _api(cloud, "compute") as api:
        found = api.get("/os-migrations", params={"instance_uuid": sid}).json()["migrations"]
    return next((m["status"] for m in found if m["migration_type"] == "evacuation"), None)


RESIZE_SCRIPT = """#!/bin/sh
at=1048576
m=$(dd if=/dev/vda bs=512 skip=$at count=1 2>/dev/null | head -c 5)
if [ "$m" != "TSRS-" ]; then
    printf 'TSRS-%s\\n' "$(head -c 16 /dev/urandom | md5sum | cut -c1-16)" |
        dd of=/dev/vda bs=512 seek=$at conv=notrunc 2>/dev/null
    sync
fi
boot=$(cat /proc/sys/kernel/random/boot_id)
while true; do
  echo 3 > /proc/sys/vm/drop_caches
  sum=$(dd if=/dev/vda bs=512 skip=$at count=1 2>/dev/null | md5sum | cut -c1-32)
  vol=-
  d=$(grep -l '^{serial}' /sys/block/vd*/serial 2>/dev/null)
  if [ -n "$d" ]; then
    d=/dev/$(basename $(dirname $d))
    if [ "$(dd if=$d bs=512 count=1 2>/dev/null | head -c 5)" != "TSRV-" ]; then
      printf 'TSRV-%s\\n' "$(head -c 16 /dev/urandom | md5sum | cut -c1-16)" |
          dd of=$d bs=512 conv=notrunc 2>/dev/null
      sync
    fi
    vol=$(dd if=$d bs=512 count=1 2>/dev/null | md5sum | cut -c1-32)
  fi
  echo "RS-SUM $sum root=$(cat /sys/block/vda/size) vol=$vol boot=$boot"
  sleep 1
done
"""
RESIZE_LINE = re.compile(r"RS-SUM ([0-9a-f]{32}) root=(\d+) vol=(\S+) boot=([0-9a-f-]+)")


class _Boots:
    """What each boot of the guest prints (read from the console of its host)."""

    def __init__(self, cloud: Cloud, sid: str) -> None:
        self.cloud, self.sid = cloud, sid
        self.seen: set[str] = set()

    def next(self, volume: bool = True) -> tuple[str, int, str]:
        """(root sum, root sectors, volume sum) of a boot not seen before (with the
        volume seen when ``volume``)."""

        def fresh() -> tuple[str, int, str] | None:
            for sums, root, vol, boot in RESIZE_LINE.findall(self.cloud.console(self.sid)):
                if boot not in self.seen and (vol != "-" or not volume):
                    self.seen.add(boot)
                    return sums, int(root), vol
            return None

        found = wait_for(fresh, 300, 1.0)
        assert isinstance(found, tuple), self.cloud.console(self.sid)[-3000:]
        return str(found[0]), int(found[1]), str(found[2])


def _attachment_hosts(cloud: Cloud, volume_id: str) -> list[str]:
    shown = cloud.osc("volume", "show", volume_id)
    assert shown["status"] == "in-use", shown
    return [str(a["host_name"]) for a in shown["attachments"]]


def test_shared_storage_resize_with_a_volume(
    shared_hosts: tuple[Cloud, SecondHost, Path],
) -> None:
    cloud, host2, shared = shared_hosts
    if "volume" not in cloud.proc.services:
        pytest.skip("the cloud runs no block storage service")
    tag, h2 = cloud.tag, host2.name
    h1 = str(cloud.osc("network", "agent", "list", "--agent-type", "l3")[0]["Host"])
    volume = cloud.osc("volume", "create", "--size", "1", f"{tag}-rs-vol")
    assert wait_for(lambda: cloud.osc("volume", "show", volume["id"])["status"] == "available",
                    60, 0.5)  # fmt: skip
    net = cloud.osc("network", "create", f"{tag}-rs")
    cloud.networks.append(net["id"])
    cloud.osc("subnet", "create", "--network", net["id"],
              "--subnet-range", "10.97.0.0/24", f"{tag}-rs-v4")  # fmt: skip
    port = cloud.osc("port", "create", "--network", net["id"], f"{tag}-rs")
    script = Path(cloud.proc.state_dir) / "user-data-rs"
    script.write_text(RESIZE_SCRIPT.replace("{serial}", volume["id"][:20]))
    sid = str(cloud.osc(
        "server", "create", "--image", "tinystack-test", "--flavor", "m1.tiny",
        "--port", port["id"], "--user-data", str(script),
        "--availability-zone", f"nova:{h1}", f"{tag}-rs",
    )["id"])  # fmt: skip
    cloud.wait_status(sid, "ACTIVE", timeout=180)
    cloud.osc_ok("server", "add", "volume", sid, volume["id"])
    boots = _Boots(cloud, sid)
    first = boots.next()
    assert _attachment_hosts(cloud, volume["id"]) == [h1]
    disk, copy = shared / sid / "disk.qcow2", shared / f"{sid}_resize"
    inode = disk.stat().st_ino

    # to host 2, reverted: the same disk file and flavor back on host 1
    cloud.osc_ok("server", "resize", "--flavor", "m1.small", sid)
    server = cloud.wait_status(sid, "VERIFY_RESIZE", timeout=300)
    assert server["OS-EXT-SRV-ATTR:host"] == h2
    assert copy.is_dir() and disk.is_file()
    resized = boots.next()
    assert resized[0] == first[0] and resized[2] == first[2] and resized[1] > first[1]
    assert _attachment_hosts(cloud, volume["id"]) == [h2]
    cloud.osc_ok("server", "resize", "revert", sid)
    server = cloud.wait_status(sid, "ACTIVE", timeout=300)
    assert server["OS-EXT-SRV-ATTR:host"] == h1 and server["flavor"]["id"] == "1"
    assert boots.next() == first
    assert disk.stat().st_ino == inode and not copy.exists()
    assert _attachment_hosts(cloud, volume["id"]) == [h1]
    assert not (host2.state / "instances" / sid).exists()

    # to host 2, confirmed: host 1's copy goes, the disk stays in the shared directory
    cloud.osc_ok("server", "resize", "--flavor", "m1.small", sid)
    assert cloud.wait_status(sid, "VERIFY_RESIZE", timeout=300)["OS-EXT-SRV-ATTR:host"] == h2
    assert boots.next() == resized
    cloud.osc_ok("server", "resize", "confirm", sid)
    cloud.wait_status(sid, "ACTIVE", timeout=120)
    runtime = Path(cloud.proc.state_dir) / "instances"
    assert wait_for(lambda: not copy.exists() and not (runtime / f"{sid}_resize").exists(), 60)
    assert disk.is_file() and not (runtime / sid).exists()
    assert _attachment_hosts(cloud, volume["id"]) == [h2]
    cloud.osc_ok("server", "delete", "--wait", sid)
    assert wait_for(lambda: not disk.parent.exists(), 30)
    assert wait_for(lambda: cloud.osc("volume", "show", volume["id"])["status"] == "available",
                    60, 0.5)  # fmt: skip
    cloud.osc_ok("volume", "delete", volume["id"])
