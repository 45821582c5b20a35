"""Compute through the real ``openstack`` CLI and openstacksdk, on the fake driver.

One cloud for the module, with three fake hosts, so placement across hosts
(anti-affinity, migration, disabled hosts) is observable.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cloudproc import CloudProcess

pytestmark = pytest.mark.cli

EXTRA_CONF = """
[compute]
fake_hosts = 3
fake_host_sizes = 8:16384:200
"""


@pytest.fixture(scope="module")
def compute_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudProcess]:
    only = os.environ.get("TINYSTACK_TEST_SERVICES")
    services = only.split(",") if only else None
    proc = CloudProcess(Path(tmp_path_factory.mktemp("compute")), services, EXTRA_CONF)
    proc.start(timeout=120)
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def api(compute_cloud: CloudProcess) -> httpx.Client:
    token = compute_cloud.token()
    return httpx.Client(
        base_url=compute_cloud.endpoint("compute"),
        headers={"X-Auth-Token": token, "OpenStack-API-Version": "compute latest"},
        timeout=30,
    )


@pytest.fixture(scope="module")
def image(compute_cloud: CloudProcess, tmp_path_factory: pytest.TempPathFactory) -> str:
    disk = tmp_path_factory.mktemp("img") / "disk.raw"
    disk.write_bytes(b"\0" * 65536)
    created = compute_cloud.osc(
        "image",
        "create",
        "--file",
        str(disk),
        "--disk-format",
        "raw",
        "--container-format",
        "bare",
        "--public",
        "cli-test-image",
    )
    return str(created["id"])


def osc_wait(cloud: CloudProcess, *args: str) -> dict[str, Any]:
    """A --wait command whose JSON may follow progress lines on stdout."""
    result = cloud.osc_raw(*args, "-f", "json")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    return dict(json.loads(text[text.index("{") :])) if "{" in text else {}


def wait_for(
    api: httpx.Client, server_id: str, *statuses: str, timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    server: dict[str, Any] = {}
    while time.monotonic() < deadline:
        server = api.get(f"/servers/{server_id}").json()["server"]
        if server["status"] in statuses and server["OS-EXT-STS:task_state"] is None:
            return server
        time.sleep(0.1)
    raise AssertionError(f"{server_id} stayed {server.get('status')}: {server.get('fault')}")


def boot(cloud: CloudProcess, image: str, name: str, *extra: str) -> dict[str, Any]:
    return dict(
        cloud.osc(
            "server", "create", "--flavor", "m1.tiny", "--image", image, "--wait", *extra, name
        )
    )


def test_boot_list_show_and_delete(compute_cloud: CloudProcess, image: str) -> None:
    server = boot(compute_cloud, image, "cli-vm")
    assert server["status"] == "ACTIVE"
    assert "m1.tiny" in str(server["flavor"])
    listed = compute_cloud.osc("server", "list")
    assert "cli-vm" in {s["Name"] for s in listed}
    shown = compute_cloud.osc("server", "show", "cli-vm")
    assert shown["id"] == server["id"]
    assert shown["OS-EXT-STS:vm_state"] == "active"
    compute_cloud.osc("server", "delete", "--wait", "cli-vm")
    assert "cli-vm" not in {s["Name"] for s in compute_cloud.osc("server", "list")}


def test_power_and_lock_actions(compute_cloud: CloudProcess, api: httpx.Client, image: str) -> None:
    sid = boot(compute_cloud, image, "cli-power")["id"]
    steps = [
        ("stop", "SHUTOFF"),
        ("start", "ACTIVE"),
        ("reboot", "ACTIVE"),
        ("pause", "PAUSED"),
        ("unpause", "ACTIVE"),
        ("suspend", "SUSPENDED"),
        ("resume", "ACTIVE"),
    ]
    for verb, status in steps:
        compute_cloud.osc("server", verb, sid)
        wait_for(api, sid, status)
    compute_cloud.osc("server", "lock", "--reason", "maintenance", sid)
    shown = api.get(f"/servers/{sid}").json()["server"]
    assert shown["locked"] is True and shown["locked_reason"] == "maintenance"
    # A member of the project cannot stop a server the admin locked... the admin can.
    compute_cloud.osc("server", "unlock", sid)
    assert api.get(f"/servers/{sid}").json()["server"]["locked"] is False
    rebuilt = osc_wait(compute_cloud, "server", "rebuild", "--image", image, "--wait", sid)
    assert rebuilt["id"] == sid
    assert wait_for(api, sid, "ACTIVE")["image"]["id"] == image
    log = compute_cloud.osc("console", "log", "show", sid)
    assert "login" in log
    events = compute_cloud.osc("server", "event", "list", sid)
    actions = {e["Action"] for e in events}
    assert {"create", "stop", "start", "reboot", "pause", "rebuild"} <= actions
    compute_cloud.osc("server", "delete", "--wait", sid)


def test_resize_confirm_revert_and_migrate(
    compute_cloud: CloudProcess, api: httpx.Client, image: str
) -> None:
    sid = boot(compute_cloud, image, "cli-resize")["id"]
    compute_cloud.osc("server", "resize", "--flavor", "m1.small", "--wait", sid)
    assert wait_for(api, sid, "VERIFY_RESIZE")["flavor"]["original_name"] == "m1.small"
    compute_cloud.osc("server", "resize", "confirm", sid)
    server = wait_for(api, sid, "ACTIVE")
    assert server["flavor"]["original_name"] == "m1.small"

    compute_cloud.osc("server", "resize", "--flavor", "m1.medium", "--wait", sid)
    wait_for(api, sid, "VERIFY_RESIZE")
    compute_cloud.osc("server", "resize", "revert", sid)
    server = wait_for(api, sid, "ACTIVE")
    assert server["flavor"]["original_name"] == "m1.small"

    before = server["OS-EXT-SRV-ATTR:host"]
    compute_cloud.osc("server", "migrate", "--wait", sid)
    wait_for(api, sid, "VERIFY_RESIZE")
    compute_cloud.osc("server", "resize", "confirm", sid)
    server = wait_for(api, sid, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] != before
    migrations = api.get("/os-migrations", params={"instance_uuid": sid}).json()["migrations"]
    assert {m["status"] for m in migrations} == {"confirmed", "reverted"}
    compute_cloud.osc("server", "delete", "--wait", sid)


def test_snapshot_and_shelve(compute_cloud: CloudProcess, api: httpx.Client, image: str) -> None:
    sid = boot(compute_cloud, image, "cli-snap")["id"]
    snap = osc_wait(
        compute_cloud, "server", "image", "create", "--name", "cli-snap-img", "--wait", sid
    )
    shown = compute_cloud.osc("image", "show", snap["id"])
    assert shown["status"] == "active"
    assert shown["name"] == "cli-snap-img"
    compute_cloud.osc("server", "shelve", "--wait", sid)
    assert wait_for(api, sid, "SHELVED_OFFLOADED")["OS-EXT-SRV-ATTR:host"] is None
    (shelved,) = compute_cloud.osc("image", "list", "--name", "cli-snap-shelved")
    compute_cloud.osc("server", "unshelve", "--wait", sid)
    server = wait_for(api, sid, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] and server["image"]["id"] == image
    # the guest came back from the shelve's snapshot (its disk as it was), which is then
    # deleted, as upstream; it once booted the server's original image again
    log = compute_cloud.osc_raw("console", "log", "show", sid).stdout
    boots = [line for line in log.splitlines() if "fake BIOS: booting" in line]
    assert boots[-1].endswith(f"from image {shelved['ID']}"), log
    assert not compute_cloud.osc("image", "list", "--name", "cli-snap-shelved")
    compute_cloud.osc("server", "delete", "--wait", sid)
    compute_cloud.osc("image", "delete", snap["id"])


def test_anti_affinity_group_spreads(compute_cloud: CloudProcess, image: str) -> None:
    group = compute_cloud.osc("server", "group", "create", "--policy", "anti-affinity", "spread")
    hosts = set()
    for n in range(2):
        server = boot(compute_cloud, image, f"cli-aa-{n}", "--hint", f"group={group['id']}")
        hosts.add(compute_cloud.osc("server", "show", server["id"])["OS-EXT-SRV-ATTR:host"])
    assert len(hosts) == 2
    shown = compute_cloud.osc("server", "group", "show", group["id"])
    assert len(shown["members"]) == 2 if isinstance(shown["members"], list) else shown["members"]
    for n in range(2):
        compute_cloud.osc("server", "delete", "--wait", f"cli-aa-{n}")
    compute_cloud.osc("server", "group", "delete", group["id"])


def test_keypairs_and_flavors(compute_cloud: CloudProcess) -> None:
    created = compute_cloud.osc_raw("keypair", "create", "cli-key")
    assert created.returncode == 0, created.stderr
    assert "PRIVATE KEY" in created.stdout
    assert "cli-key" in {k["Name"] for k in compute_cloud.osc("keypair", "list")}
    flavor = compute_cloud.osc(
        "flavor", "create", "--ram", "256", "--disk", "1", "--vcpus", "1", "cli-flavor"
    )
    compute_cloud.osc("flavor", "set", "--property", "hw:cpu_policy=shared", "cli-flavor")
    shown = compute_cloud.osc("flavor", "show", flavor["id"])
    assert "hw:cpu_policy" in str(shown["properties"])
    compute_cloud.osc("flavor", "delete", "cli-flavor")
    compute_cloud.osc("keypair", "delete", "cli-key")


def test_quota_is_enforced(compute_cloud: CloudProcess, image: str) -> None:
    compute_cloud.osc("quota", "set", "--instances", "1", "demo")
    quota = compute_cloud.osc("quota", "show", "demo")
    limits = {q["Resource"]: q["Limit"] for q in quota} if isinstance(quota, list) else quota
    assert limits["instances"] == 1
    first = compute_cloud.osc_raw(
        "server",
        "create",
        "--flavor",
        "m1.tiny",
        "--image",
        image,
        "--wait",
        "demo-1",
        cloud="tinystack-demo",
    )
    assert first.returncode == 0, first.stderr
    second = compute_cloud.osc_raw(
        "server",
        "create",
        "--flavor",
        "m1.tiny",
        "--image",
        image,
        "demo-2",
        cloud="tinystack-demo",
    )
    assert second.returncode != 0
    assert "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances" in (
        second.stderr
    )
    assert "403" in second.stderr
    compute_cloud.osc("server", "delete", "--wait", "demo-1", cloud="tinystack-demo")
    compute_cloud.osc("quota", "set", "--instances", "10", "demo")


def test_hosts_services_aggregates_zones(
    compute_cloud: CloudProcess, api: httpx.Client, image: str
) -> None:
    hypervisors = compute_cloud.osc("hypervisor", "list")
    assert len(hypervisors) == 3
    services = compute_cloud.osc("compute", "service", "list")
    computes = [s for s in services if s["Binary"] == "nova-compute"]
    assert len(computes) == 3 and all(s["State"] == "up" for s in computes)
    assert {"nova-conductor", "nova-scheduler"} <= {s["Binary"] for s in services}
    disabled = computes[0]["Host"]
    compute_cloud.osc("compute", "service", "set", "--disable", disabled, "nova-compute")
    try:
        placed = []
        for n in range(3):
            sid = boot(compute_cloud, image, f"cli-dis-{n}")["id"]
            placed.append(api.get(f"/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"])
        assert disabled not in placed
    finally:
        compute_cloud.osc("compute", "service", "set", "--enable", disabled, "nova-compute")
        for n in range(3):
            compute_cloud.osc_raw("server", "delete", "--wait", f"cli-dis-{n}")
    agg = compute_cloud.osc("aggregate", "create", "--zone", "cli-zone", "cli-agg")
    compute_cloud.osc("aggregate", "add", "host", "cli-agg", disabled)
    zones = {z["Zone Name"] for z in compute_cloud.osc("availability", "zone", "list")}
    assert {"cli-zone", "nova"} <= zones
    server = boot(compute_cloud, image, "cli-zoned", "--availability-zone", "cli-zone")
    shown = compute_cloud.osc("server", "show", server["id"])
    assert shown["OS-EXT-AZ:availability_zone"] == "cli-zone"
    assert shown["OS-EXT-SRV-ATTR:host"] == disabled
    compute_cloud.osc("server", "delete", "--wait", "cli-zoned")
    compute_cloud.osc("aggregate", "remove", "host", "cli-agg", disabled)
    compute_cloud.osc("aggregate", "delete", str(agg["id"]))


def test_sdk_create_and_delete_wait(compute_cloud: CloudProcess, image: str) -> None:
    conn = compute_cloud.sdk("tinystack-demo")
    with_network = "network" in compute_cloud.services
    server = conn.create_server(
        "sdk-vm", image=image, flavor="m1.tiny", wait=True, timeout=60, auto_ip=with_network
    )
    assert server.status == "ACTIVE"
    if with_network:
        assert server.addresses
    assert conn.delete_server("sdk-vm", wait=True, timeout=60)
    assert conn.get_server("sdk-vm") is None


def test_bad_input_is_never_a_500(compute_cloud: CloudProcess, api: httpx.Client) -> None:
    result = compute_cloud.osc_raw(
        "server", "create", "--flavor", "no-such-flavor", "--image", "nope", "x"
    )
    assert result.returncode != 0
    assert "500" not in result.stderr
    bad = api.post("/servers", content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400
    assert "badRequest" in bad.json()
    with pytest.raises(subprocess.CalledProcessError):
        compute_cloud.osc("server", "show", "does-not-exist")


def test_nic_auto_gets_an_auto_allocated_network(compute_cloud: CloudProcess, image: str) -> None:
    """``--nic auto`` for a project without networks of its own: the network service's
    auto-allocated topology (network, subnet from the default pool, router on the default
    external network) is made and the server gets a port on it."""
    cloud = compute_cloud
    cloud.osc("network", "set", "--default", "public")
    pool = cloud.osc(
        "subnet", "pool", "create", "--default", "--share", "--pool-prefix", "10.90.0.0/16",
        "--default-prefix-length", "26", "cli-auto-pool",
    )  # fmt: skip
    try:
        # the dry run passes (the CLI shows its dry_run column empty, as for upstream)
        cloud.osc("network", "auto", "allocated", "topology", "create", "--check-resources")
        server = boot(cloud, image, "cli-auto", "--nic", "auto")
        assert server["status"] == "ACTIVE"
        assert "auto_allocated_network" in json.dumps(server["addresses"]), server["addresses"]
        topology = cloud.osc("network", "auto", "allocated", "topology", "create")
        network = cloud.osc("network", "show", "auto_allocated_network")
        assert topology["id"] == network["id"]
        router = cloud.osc("router", "show", "auto_allocated_router")
        assert (
            router["external_gateway_info"]["network_id"]
            == cloud.osc("network", "show", "public")["id"]
        )
        cloud.osc("server", "delete", "--wait", "cli-auto")
        cloud.osc("network", "auto", "allocated", "topology", "delete")
        names = {n["Name"] for n in cloud.osc("network", "list")}
        assert "auto_allocated_network" not in names
    finally:
        cloud.osc("subnet", "pool", "delete", pool["id"])
        cloud.osc("network", "set", "--no-default", "public")
