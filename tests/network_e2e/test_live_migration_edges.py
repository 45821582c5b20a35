"""Live migration off the plain road, between two real hosts (host 2 a network namespace
on the underlay, as in ``test_two_hosts.py``; both hosts copy RAM at 1 MiB/s, so a
migration is still copying when the test strikes): agents killed mid-migration, a host
without room, a guest with an attached volume.

Host 2's compute agent is a process of its own: killed with SIGKILL while it is the
destination of a migration, then while it is the source, and restarted each time. After
the restart the guest runs on exactly one host (one QEMU, the other host keeps no
directory of it), the migration is in ``error``, the allocations are the server's on its
host only, and the guest's console goes on printing the same disk checksum. A guest too
big for host 2 is refused there with NoValidHost and keeps running on host 1. A guest
with a volume of the file backend (an NBD export for the hosts; the storage service
serves it on host 1's underlay address) moves to host 1 and back: each time the
destination attaches it through its own attachment, the source's attachment and export
go, and the guest reads back what it wrote before.

The guests get their user data from a config drive; each writes random data into its
root disk (past the image, into the overlay the block migration mirrors) and prints its
checksum and its uptime every half second.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cloudproc import free_port
from tests.network_dataplane.support import wait_for
from tests.network_e2e.conftest import Cloud, cloud_fixture
from tests.network_e2e.guest_moves import qemus
from tests.network_e2e.test_two_hosts import UNDERLAY, SecondHost
from tinystack.common.qmp import command as qmp
from tinystack.compute.virt.qemu import host as qemu_host
from tinystack.compute.virt.qemu.definition import Definition

pytestmark = pytest.mark.rabbit
EXTRA = "my_ip = {address}\nforce_config_drive = true\nlive_migration_bandwidth = 1"
#: host 2 has room for two m1.tiny guests (512 MiB) and not for one of 2 GiB
HOST2_ROOM_MB = 1536
SCRIPT = """#!/bin/sh
dd if=/dev/urandom of=/dev/vda bs=1M seek=600 count=4 2>/dev/null
sync
while true; do
  echo 3 > /proc/sys/vm/drop_caches
  s=$(dd if=/dev/vda bs=1M skip=600 count=4 2>/dev/null | md5sum | cut -c1-32)
  echo "LMF-SUM=$s UP=$(cut -d' ' -f1 /proc/uptime)"
  sleep 0.5
done
"""
LINE = re.compile(r"LMF-SUM=([0-9a-f]{32}) UP=([0-9.]+)")


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cloud, SecondHost]]:
    # the volume service's NBD exports on host 1's underlay address, reachable from host 2
    volume = f"\n[volume]\ntarget_ip_address = {{address}}\nnbd_port = {free_port()}"
    with cloud_fixture(tmp_path_factory, two_hosts=True, compute_extra=EXTRA + volume) as (
        cloud,
        underlay,
        octet,
    ):
        assert cloud.transport is not None
        vtep = UNDERLAY.format(n=octet, h=2)
        extra = (
            f"{EXTRA}\nlive_migration_inbound_addr = {{address}}\n"
            f"reserved_host_memory_mb = {qemu_host.memory_mb() - HOST2_ROOM_MB}"
        )
        host2 = SecondHost(cloud, underlay, vtep, cloud.transport, compute_extra=extra)
        try:
            host2.wait_ready()
            yield cloud, host2
        finally:
            host2.stop()


def _api(cloud: Cloud, service: str) -> httpx.Client:
    version = "placement 1.39" if service == "placement" else f"{service} latest"
    headers = {"X-Auth-Token": cloud.proc.token(), "OpenStack-API-Version": version}
    return httpx.Client(base_url=cloud.proc.endpoint(service), headers=headers, timeout=30)


def _allocation_hosts(cloud: Cloud, consumer: str) -> list[str]:
    with _api(cloud, "placement") as placement:
        found = placement.get(f"/allocations/{consumer}").json()["allocations"]
        providers = placement.get("/resource_providers").json()["resource_providers"]
    names = {rp["uuid"]: rp["name"] for rp in providers}
    return sorted(names[rp] for rp in found)


def _migrations(cloud: Cloud, sid: str) -> list[dict[str, Any]]:
    with _api(cloud, "compute") as api:
        found = api.get("/os-migrations", params={"instance_uuid": sid}).json()["migrations"]
    return [m for m in found if m["migration_type"] == "live-migration"]


def _lines(cloud: Cloud, sid: str) -> list[tuple[str, float]]:
    return [(s, float(up)) for s, up in LINE.findall(cloud.console(sid))]


def _runs_on(cloud: Cloud, host2: SecondHost, sid: str, where: str, disk_sum: str) -> None:
    """The guest runs on ``where`` only, with its disk: one QEMU, nothing on the other
    host, and new console lines (from ``where``'s console log) with the same sum."""
    h2 = host2.name
    here = host2.state if where == h2 else cloud.proc.state_dir
    there = cloud.proc.state_dir if where == h2 else host2.state
    assert cloud.wait_status(sid, "ACTIVE", timeout=180)["OS-EXT-SRV-ATTR:host"] == where
    # the host that lost the guest stops its QEMU, then removes its directory
    gone = wait_for(lambda: not qemus(sid, there) and not (there / "instances" / sid).exists(), 60)
    assert gone, (qemus(sid, there), (there / "instances" / sid).exists(), host2.logs())
    assert len(qemus(sid, here)) == 1 and len(qemus(sid)) == 1
    last = max((up for _, up in _lines(cloud, sid)), default=0.0)
    later = wait_for(lambda: [s for s, up in _lines(cloud, sid) if up > last + 2], 60, 1.0)
    assert later, cloud.console(sid)[-2000:]
    assert set(later) == {disk_sum}
    assert _allocation_hosts(cloud, sid) == [where]


def _boot(
    cloud: Cloud, net: str, name: str, host: str, flavor: str = "m1.tiny", script: str = SCRIPT
) -> str:
    port = cloud.osc("port", "create", "--network", net, f"{cloud.tag}-{name}")
    cloud.state.setdefault("ports", {})[name] = {"id": port["id"]}
    user_data = cloud.proc.state_dir / f"user-data-lmf-{name}"
    user_data.write_text(script)
    server = cloud.osc(
        "server", "create", "--image", "tinystack-test", "--flavor", flavor,
        "--port", port["id"], "--user-data", str(user_data),
        "--availability-zone", f"nova:{host}", f"{cloud.tag}-{name}",
    )  # fmt: skip
    return str(server["id"])


def _first_sum(cloud: Cloud, sid: str) -> str:
    cloud.wait_status(sid, "ACTIVE", timeout=180)
    found = wait_for(lambda: _lines(cloud, sid), 240, 1.0)
    assert found, cloud.console(sid)[-2000:]
    return str(found[-1][0])


def _migrate_and_wait_copying(cloud: Cloud, sid: str, host: str) -> dict[str, Any]:
    with _api(cloud, "compute") as api:
        body = {"os-migrateLive": {"host": host, "block_migration": "auto"}}
        reply = api.post(f"/servers/{sid}/action", json=body)
        assert reply.status_code == 202, reply.text

        def copying() -> dict[str, Any] | None:
            found = api.get(f"/servers/{sid}/migrations").json()["migrations"]
            ok = found and found[0]["status"] == "running" and found[0]["memory_total_bytes"]
            return found[0] if ok else None

        migration = wait_for(copying, 180, 0.1)
    assert migration, _migrations(cloud, sid)
    return dict(migration)


def _kill_and_restart_host2_agent(host2: SecondHost) -> None:
    agent = host2.procs[1]
    os.killpg(agent.pid, signal.SIGKILL)
    agent.wait(30)
    host2.procs[1] = host2.serve("compute")
    host2.wait_ready()


def test_killing_either_agent_mid_migration(hosts: tuple[Cloud, SecondHost]) -> None:
    cloud, host2 = hosts
    net = cloud.osc("network", "create", f"{cloud.tag}-lmf")
    cloud.networks.append(net["id"])
    cloud.osc("subnet", "create", "--network", net["id"],
              "--subnet-range", "10.94.0.0/24", f"{cloud.tag}-lmf-v4")  # fmt: skip
    h1 = str(cloud.osc("network", "agent", "list", "--agent-type", "l3")[0]["Host"])
    h2 = host2.name
    a, b = _boot(cloud, net["id"], "a", h1), _boot(cloud, net["id"], "b", h2)
    sum_a, sum_b = _first_sum(cloud, a), _first_sum(cloud, b)

    # the destination's agent dies while the guest's RAM is copied to it
    running = _migrate_and_wait_copying(cloud, a, h2)
    _kill_and_restart_host2_agent(host2)
    _runs_on(cloud, host2, a, h1, sum_a)
    assert [m["status"] for m in _migrations(cloud, a)] == ["error"]
    assert _allocation_hosts(cloud, running["uuid"]) == []

    # the source's agent dies while it copies the guest away
    running = _migrate_and_wait_copying(cloud, b, h1)
    _kill_and_restart_host2_agent(host2)
    _runs_on(cloud, host2, b, h2, sum_b)
    assert [m["status"] for m in _migrations(cloud, b)] == ["error"]
    # the allocations return once the restarted agent reaches placement
    assert wait_for(lambda: _allocation_hosts(cloud, running["uuid"]) == [], 60, 0.5)
    assert _allocation_hosts(cloud, b) == [h2]
    cloud.osc_ok("server", "delete", "--wait", a, b)
    assert not qemus(a) and not qemus(b)


def test_a_host_without_room_refuses_the_guest(hosts: tuple[Cloud, SecondHost]) -> None:
    cloud, host2 = hosts
    tag, h2 = cloud.tag, host2.name
    h1 = str(cloud.osc("network", "agent", "list", "--agent-type", "l3")[0]["Host"])
    flavor = cloud.osc("flavor", "create", "--ram", "2048", "--disk", "1", "--vcpus", "1",
                       f"{tag}-big")  # fmt: skip
    net = cloud.osc("network", "create", f"{tag}-lmf-big")
    cloud.networks.append(net["id"])
    cloud.osc("subnet", "create", "--network", net["id"],
              "--subnet-range", "10.95.0.0/24", f"{tag}-lmf-big-v4")  # fmt: skip
    sid = _boot(cloud, net["id"], "big", h1, flavor=flavor["id"])
    disk_sum = _first_sum(cloud, sid)
    pid = qemus(sid)
    with _api(cloud, "compute") as api:
        # before 2.34 the conductor's checks answer the request
        body = {"os-migrateLive": {"host": h2, "block_migration": "auto", "force": False}}
        old = {"OpenStack-API-Version": "compute 2.30"}
        reply = api.post(f"/servers/{sid}/action", json=body, headers=old)
        assert reply.status_code == 400, reply.text
        assert "No valid host" in reply.json()["badRequest"]["message"]
        # since, after the 202; the scheduler's own choice finds no host either
        for host in (h2, None):
            body = {"os-migrateLive": {"host": host, "block_migration": "auto"}}
            assert api.post(f"/servers/{sid}/action", json=body).status_code == 202
            cloud.wait_status(sid, "ACTIVE", timeout=60)
        actions = api.get(f"/servers/{sid}/os-instance-actions").json()["instanceActions"]
        shown = api.get(f"/servers/{sid}/os-instance-actions/{actions[0]['request_id']}")
    events = shown.json()["instanceAction"]["events"]
    assert events[0]["event"] == "conductor_live_migrate_instance"
    assert events[0]["result"] == "Error"
    assert [m["status"] for m in _migrations(cloud, sid)] == ["error"] * 3
    # untouched: the same QEMU, running on with its disk, its allocations on host 1
    assert qemus(sid) == pid
    _runs_on(cloud, host2, sid, h1, disk_sum)
    cloud.osc_ok("server", "delete", "--wait", sid)


VOLUME_SCRIPT = """#!/bin/sh
until d=$(grep -l '^{serial}' /sys/block/vd*/serial 2>/dev/null); do sleep 0.5; done
d=/dev/$(basename $(dirname $d))
dd if=/dev/urandom of=$d bs=1M count=4 2>/dev/null
sync
while true; do
  echo 3 > /proc/sys/vm/drop_caches
  s=$(dd if=$d bs=1M count=4 2>/dev/null | md5sum | cut -c1-32)
  echo "LMF-SUM=$s UP=$(cut -d' ' -f1 /proc/uptime)"
  sleep 0.5
done
"""


def _attachments(cloud: Cloud, volume_id: str) -> list[tuple[str, str]]:
    """(attachment id, host) of the volume's attachments."""
    volume = cloud.osc("volume", "show", volume_id)
    return [(a["attachment_id"], a["host_name"]) for a in volume["attachments"]]


def _exports(cloud: Cloud) -> set[str]:
    """The attachment ids the file backend has records (and NBD exports) of."""
    found: set[str] = set()
    for state in cloud.proc.state_dir.glob("**/.tinystack/exports.json"):
        found |= set(json.loads(state.read_text()))
    return found


def test_a_guest_with_a_volume_moves_and_back(hosts: tuple[Cloud, SecondHost]) -> None:
    cloud, host2 = hosts
    tag, h2 = cloud.tag, host2.name
    if "volume" not in cloud.proc.services:
        pytest.skip("the cloud runs no block storage service")
    h1 = str(cloud.osc("network", "agent", "list", "--agent-type", "l3")[0]["Host"])
    volume = cloud.osc("volume", "create", "--size", "1", f"{tag}-lmf-vol")
    assert wait_for(lambda: cloud.osc("volume", "show", volume["id"])["status"] == "available",
                    60, 0.5)  # fmt: skip
    net = cloud.osc("network", "create", f"{tag}-lmf-vol")
    cloud.networks.append(net["id"])
    cloud.osc("subnet", "create", "--network", net["id"],
              "--subnet-range", "10.96.0.0/24", f"{tag}-lmf-vol-v4")  # fmt: skip
    local = cloud.osc("volume", "create", "--size", "1", f"{tag}-lmf-local")
    script = VOLUME_SCRIPT.replace("{serial}", volume["id"][:20])
    sid = _boot(cloud, net["id"], "vol", h2, script=script)
    script = VOLUME_SCRIPT.replace("{serial}", local["id"][:20])
    kept = _boot(cloud, net["id"], "local", h1, script=script)
    for server, vol in ((sid, volume), (kept, local)):
        cloud.wait_status(server, "ACTIVE", timeout=180)
        cloud.osc_ok("server", "add", "volume", server, vol["id"])
    disk_sum = _first_sum(cloud, sid)
    _refused_with_a_local_file(cloud, host2, kept, local["id"])
    [(first, where)] = _attachments(cloud, volume["id"])
    assert where == h2 and _exports(cloud) == {first}
    seen = {first}
    for source, dest in ((h2, h1), (h1, h2)):
        # the guest dirties its page cache faster than 1 MiB/s: forced to complete (paused)
        running = _migrate_and_wait_copying(cloud, sid, dest)
        with _api(cloud, "compute") as api:
            action = f"/servers/{sid}/migrations/{running['id']}/action"
            reply = api.post(action, json={"force_complete": None})
            assert reply.status_code == 202, reply.text
        # paused now; the operator's lever lets the rest go at full speed (the 1 MiB/s cap
        # is the kill test's, which needs a migration still copying when it strikes)
        _uncap(host2.state if source == h2 else cloud.proc.state_dir, sid)
        cloud.wait_status(sid, "ACTIVE", timeout=300)
        _runs_on(cloud, host2, sid, dest, disk_sum)
        # the destination's own attachment, the source's gone with its export
        [(attachment, where)] = _attachments(cloud, volume["id"])
        assert where == dest and attachment not in seen, (attachment, where, source)
        assert _exports(cloud) == {attachment}
        seen.add(attachment)
    assert [m["status"] for m in _migrations(cloud, sid)] == ["completed"] * 2
    cloud.osc_ok("server", "delete", "--wait", sid)
    for vol in (volume, local):
        assert wait_for(lambda v=vol: not _attachments(cloud, v["id"]), 60, 0.5)  # type: ignore[misc]
    assert _exports(cloud) == set()
    cloud.osc_ok("volume", "delete", volume["id"], local["id"])


def _uncap(state: Path, sid: str) -> None:
    """Lift the source QEMU's migration bandwidth cap (``migrate-set-parameters``)."""
    defn = Definition.load(state / "instances" / sid)
    assert defn is not None
    qmp(defn.qmp_socket, "migrate-set-parameters", {"max-bandwidth": 8 * 1024**3}, timeout=30)


def _refused_with_a_local_file(cloud: Cloud, host2: SecondHost, sid: str, volume: str) -> None:
    """On the storage host the volume is the file itself, which the volume service
    cannot also export to another host: the check refuses, the guest stays untouched."""
    h1 = str(cloud.osc("server", "show", sid)["OS-EXT-SRV-ATTR:host"])
    local_sum = _first_sum(cloud, sid)
    before = _attachments(cloud, volume)
    with _api(cloud, "compute") as api:
        body = {"os-migrateLive": {"host": host2.name, "block_migration": "auto"}}
        assert api.post(f"/servers/{sid}/action", json=body).status_code == 202
        cloud.wait_status(sid, "ACTIVE", timeout=120)
        actions = api.get(f"/servers/{sid}/os-instance-actions").json()["instanceActions"]
        shown = api.get(f"/servers/{sid}/os-instance-actions/{actions[0]['request_id']}")
    assert shown.json()["instanceAction"]["events"][0]["result"] == "Error"
    assert [m["status"] for m in _migrations(cloud, sid)] == ["error"]
    assert _attachments(cloud, volume) == before
    _runs_on(cloud, host2, sid, h1, local_sum)
    cloud.osc_ok("server", "delete", "--wait", sid)
