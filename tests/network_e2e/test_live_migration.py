"""Live migration of a real guest between two hosts (host 2 a network namespace on the
underlay, as in ``test_two_hosts.py``): ``openstack server migrate --live-migration``
while the router's namespace on host 1 pings the guest every 0.2 s.

The guest writes random data into its root disk (past the image: the overlay the block
migration mirrors) and prints its checksum, read back with the page cache dropped, every
half second; after the migration the console (now host 2's) goes on with the same sum.
The server ends ACTIVE on host 2 with its allocations there only, and host 1 keeps no
QEMU, tap or instance directory of it. Then a migration back (host 2's copy throttled
to 1 MiB/s, so it is still running) is aborted: the guest stays on host 2, untouched.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.compute_qemu.conftest import qemu_pids_under
from tests.network_dataplane.support import wait_for
from tests.network_e2e.conftest import Cloud, cloud_fixture
from tests.network_e2e.test_two_hosts import UNDERLAY, SecondHost

pytestmark = pytest.mark.rabbit
SCRIPT = """#!/bin/sh
dd if=/dev/urandom of=/dev/vda bs=1M seek=600 count=4 2>/dev/null
sync
while true; do
  echo 3 > /proc/sys/vm/drop_caches
  echo "LM-SUM=$(dd if=/dev/vda bs=1M skip=600 count=4 2>/dev/null | md5sum | cut -c1-32)"
  sleep 0.5
done
"""
SUM = re.compile(r"LM-SUM=([0-9a-f]{32})")


@pytest.fixture(scope="module")
def two_hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cloud, SecondHost]]:
    with cloud_fixture(tmp_path_factory, two_hosts=True) as (cloud, underlay, octet):
        assert cloud.transport is not None
        vtep = UNDERLAY.format(n=octet, h=2)
        options = "live_migration_inbound_addr = {address}\nlive_migration_bandwidth = 1"
        host2 = SecondHost(cloud, underlay, vtep, cloud.transport, compute_extra=options)
        try:
            host2.wait_ready()
            yield cloud, host2
        finally:
            host2.stop()


def _api(cloud: Cloud, service: str) -> httpx.Client:
    headers = {"X-Auth-Token": cloud.proc.token(), "OpenStack-API-Version": f"{service} latest"}
    if service == "placement":
        headers["OpenStack-API-Version"] = "placement 1.39"
    return httpx.Client(base_url=cloud.proc.endpoint(service), headers=headers, timeout=30)


def _allocation_hosts(cloud: Cloud, consumer: str) -> list[str]:
    with _api(cloud, "placement") as placement:
        found = placement.get(f"/allocations/{consumer}").json()["allocations"]
        names = {
            rp["uuid"]: rp["name"] for rp in placement.get("/resource_providers").json()[
                "resource_providers"]
        }  # fmt: skip
    return sorted(names[rp] for rp in found)


def _router_namespace(router_id: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = [n for n in os.listdir("/run/netns") if router_id in n]
        if found:
            return found[0]
        time.sleep(0.5)
    raise AssertionError(f"no namespace for router {router_id}")


def _boot(cloud: Cloud, host1: str) -> tuple[str, str, str]:
    """(server id, its address, the router's namespace on host 1)."""
    tag = cloud.tag
    net = cloud.osc("network", "create", f"{tag}-lm")
    cloud.networks.append(net["id"])
    subnet = cloud.osc("subnet", "create", "--network", net["id"],
                       "--subnet-range", "10.93.0.0/24", f"{tag}-lm-v4")  # fmt: skip
    router = cloud.osc("router", "create", f"{tag}-lm-router")
    cloud.osc_ok("router", "add", "subnet", router["id"], subnet["id"])
    group = cloud.osc("security", "group", "create", f"{tag}-lm-sg")
    cloud.osc("security", "group", "rule", "create", "--protocol", "icmp", group["id"])
    port = cloud.osc("port", "create", "--network", net["id"], "--security-group", group["id"],
                     f"{tag}-lm")  # fmt: skip
    cloud.state.setdefault("ports", {})["lm"] = {"id": port["id"]}
    script = Path(cloud.proc.state_dir) / "user-data-lm"
    script.write_text(SCRIPT)
    server = cloud.osc(
        "server", "create", "--image", "tinystack-test", "--flavor", "m1.tiny",
        "--port", port["id"], "--availability-zone", f"nova:{host1}",
        "--user-data", str(script), f"{tag}-lm",
    )  # fmt: skip
    return server["id"], port["fixed_ips"][0]["ip_address"], _router_namespace(router["id"])


def _sums(cloud: Cloud, sid: str) -> list[str]:
    return SUM.findall(cloud.console(sid))


def _ping(namespace: str, address: str) -> bool:
    proc = subprocess.run(
        ["ip", "netns", "exec", namespace, "ping", "-c1", "-W1", address], capture_output=True
    )
    return proc.returncode == 0


def test_live_migration_keeps_the_guest_pinging(two_hosts: tuple[Cloud, SecondHost]) -> None:
    cloud, host2 = two_hosts
    host1 = str(cloud.osc("network", "agent", "list", "--agent-type", "l3")[0]["Host"])
    sid, address, router_ns = _boot(cloud, host1)
    server = cloud.wait_status(sid, "ACTIVE", timeout=120)
    assert server["OS-EXT-SRV-ATTR:host"] == host1
    assert wait_for(lambda: _sums(cloud, sid), 180, 1.0), cloud.console(sid)[-2000:]
    before = _sums(cloud, sid)[-1]
    assert wait_for(lambda: _ping(router_ns, address), 60, 0.5)
    tap = f"tap{cloud.state['ports']['lm']['id'][:11]}"
    assert Path(f"/sys/class/net/{tap}").exists()
    directory = Path(cloud.proc.state_dir) / "instances" / sid
    assert directory.is_dir()

    pinger = subprocess.Popen(
        ["ip", "netns", "exec", router_ns, "busybox", "ping", "-i", "0.2", "-W", "1", address],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        time.sleep(1)
        started = time.monotonic()
        cloud.osc_ok(
            "--os-compute-api-version", "2.30", "server", "migrate", "--live-migration",
            "--host", host2.name, "--block-migration", sid,
        )  # fmt: skip
        server = cloud.wait_status(sid, "ACTIVE", timeout=180)
        took = time.monotonic() - started
        time.sleep(3)
    finally:
        pinger.terminate()
        out, _ = pinger.communicate(timeout=30)
    sent = re.findall(r"seq=(\d+)", out)
    assert sent, out
    answered = {int(s) for s in sent}
    lost = max(answered) + 1 - len(answered)
    print(f"\nlive migration: {took:.1f}s, {lost} of {max(answered) + 1} pings (0.2 s) lost")
    assert server["OS-EXT-SRV-ATTR:host"] == host2.name
    assert lost <= 10, out[-3000:]

    # the guest kept its disk: the same sum, read from the disk on host 2
    assert wait_for(lambda: len(_sums(cloud, sid)) >= 2, 60, 1.0), cloud.console(sid)[-2000:]
    assert _sums(cloud, sid)[-1] == before
    assert _allocation_hosts(cloud, sid) == [host2.name]
    with _api(cloud, "compute") as api:
        migrations: list[dict[str, Any]] = api.get(
            "/os-migrations", params={"instance_uuid": sid}
        ).json()["migrations"]
    assert [m["status"] for m in migrations] == ["completed"]
    assert _allocation_hosts(cloud, migrations[0]["uuid"]) == []
    # host 1 is clean: no QEMU, tap or directory of the guest
    assert not qemu_pids_under(directory)
    assert not Path(f"/sys/class/net/{tap}").exists()
    assert not directory.exists()
    assert tap in host2.ns.sh("ip", "-o", "link", "show")
    _abort_back(cloud, sid, host1, host2.name, before)
    cloud.osc_ok("server", "delete", "--wait", sid)
    assert wait_for(lambda: tap not in host2.ns.sh("ip", "-o", "link", "show"), 20)


def _abort_back(cloud: Cloud, sid: str, host1: str, host2: str, disk_sum: str) -> None:
    """Abort a migration back to host 1: the guest stays on host 2, host 1 keeps nothing."""
    directory = Path(cloud.proc.state_dir) / "instances" / sid
    with _api(cloud, "compute") as api:
        body = {"os-migrateLive": {"host": host1, "block_migration": "auto"}}
        assert api.post(f"/servers/{sid}/action", json=body).status_code == 202

        def running() -> dict[str, Any] | None:
            found = api.get(f"/servers/{sid}/migrations").json()["migrations"]
            # running, and QEMU copying the memory (its counters in the migration)
            ok = found and found[0]["status"] == "running" and found[0]["memory_total_bytes"]
            return found[0] if ok else None

        migration = wait_for(running, 120, 0.1)
        assert migration, api.get("/os-migrations", params={"instance_uuid": sid}).text
        # QEMU's own counters, while it copies
        assert migration["memory_total_bytes"] >= 512 * 1024**2
        reply = api.delete(f"/servers/{sid}/migrations/{migration['id']}")
        assert reply.status_code == 202, reply.text
    server = cloud.wait_status(sid, "ACTIVE", timeout=120)
    assert server["OS-EXT-SRV-ATTR:host"] == host2
    with _api(cloud, "compute") as api:
        statuses = [
            m["status"]
            for m in api.get("/os-migrations", params={"instance_uuid": sid}).json()["migrations"]
        ]
    assert statuses == ["cancelled", "completed"]
    assert _allocation_hosts(cloud, sid) == [host2]
    assert _allocation_hosts(cloud, migration["uuid"]) == []
    assert not directory.exists() and not qemu_pids_under(directory)
    count = len(_sums(cloud, sid))
    assert wait_for(lambda: len(_sums(cloud, sid)) > count, 30, 0.5)
    assert _sums(cloud, sid)[-1] == disk_sum
