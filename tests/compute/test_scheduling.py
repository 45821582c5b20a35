"""Scheduling on hosts of different sizes: NoValidHost, races for the last slot, groups,
rescheduling to alternates. Placement usage must match the ACTIVE servers exactly."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.compute.conftest import Env, MakeEnv

SIZES = """
[compute]
fake_hosts = 2
fake_host_sizes = 4:4096:40,2:2048:20
cpu_allocation_ratio = 1.0
ram_allocation_ratio = 1.0
reserved_host_memory_mb = 0
"""


@pytest.fixture(scope="module")
def sized(make_env: MakeEnv) -> Env:
    env = make_env(SIZES)
    env.compute.put(
        "/os-quota-sets/" + _admin_project(env),
        {"quota_set": {"instances": -1, "cores": -1, "ram": -1}},
        200,
    )
    env.compute.post(
        "/flavors",
        {"flavor": {"name": "slot", "id": "slot", "vcpus": 2, "ram": 2048, "disk": 20}},
        200,
    )
    return env


def _admin_project(env: Env) -> str:
    token = env.cloud.osc("token", "issue")
    return str(token["project_id"])


def _cleanup(env: Env) -> None:
    for server in env.compute.get("/servers").json()["servers"]:
        env.compute.delete(f"/servers/{server['id']}", 204)
    for server in env.compute.get("/servers").json()["servers"]:
        env.wait(server["id"], "DELETED")


def _expected_usage(env: Env) -> dict[str, dict[str, int]]:
    usage: dict[str, dict[str, int]] = {}
    for server in env.compute.get("/servers/detail").json()["servers"]:
        if server["status"] != "ACTIVE":
            continue
        host = usage.setdefault(server["OS-EXT-SRV-ATTR:hypervisor_hostname"], {})
        flavor = server["flavor"]
        for rc, amount in (
            ("VCPU", flavor["vcpus"]),
            ("MEMORY_MB", flavor["ram"]),
            ("DISK_GB", flavor["disk"]),
        ):
            host[rc] = host.get(rc, 0) + amount
    return usage


def _actual_usage(env: Env) -> dict[str, dict[str, int]]:
    return {
        name: {rc: v for rc, v in u.items() if v}
        for name, u in env.usages().items()
        if any(u.values())
    }


def test_a_flavor_that_fits_nowhere_fails_with_no_valid_host(sized: Env) -> None:
    server = sized.boot(flavorRef="4")  # m1.large: 4 VCPU, 8 GiB
    assert server["status"] == "ERROR"
    assert server["fault"]["code"] == 500
    assert server["fault"]["message"].startswith("No valid host was found.")
    assert server["OS-EXT-SRV-ATTR:host"] is None
    assert _actual_usage(sized) == {}
    actions = sized.compute.get(f"/servers/{server['id']}/os-instance-actions").json()
    request_id = actions["instanceActions"][0]["request_id"]
    detail = sized.compute.get(f"/servers/{server['id']}/os-instance-actions/{request_id}")
    events = detail.json()["instanceAction"]["events"]
    assert events[0]["event"] == "conductor_schedule_and_build_instances"
    assert events[0]["result"] == "Error"
    _cleanup(sized)


def test_two_builds_racing_for_the_last_slot(sized: Env) -> None:
    # Three "slot" servers fit: two on the 4-VCPU host, one on the 2-VCPU host.
    for _ in range(2):
        assert sized.boot(flavorRef="slot")["status"] == "ACTIVE"
    created: list[str] = []
    barrier = threading.Barrier(2)

    def racer(n: int) -> None:
        barrier.wait()
        body = {
            "server": {
                "name": f"racer-{n}",
                "flavorRef": "slot",
                "imageRef": sized.image,
                "networks": "none",
            }
        }
        created.append(sized.compute.post("/servers", body, 202).json()["server"]["id"])

    threads = [threading.Thread(target=racer, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results = sorted(sized.wait(sid, "ACTIVE", "ERROR")["status"] for sid in created)
    assert results == ["ACTIVE", "ERROR"]
    assert _actual_usage(sized) == _expected_usage(sized)
    _cleanup(sized)
    assert _actual_usage(sized) == {}


def test_multi_create_beyond_capacity_fails_every_instance(sized: Env) -> None:
    body = {
        "server": {
            "name": "many",
            "flavorRef": "slot",
            "imageRef": sized.image,
            "networks": "none",
            "min_count": 4,
            "max_count": 4,
        }
    }
    resv = sized.compute.post(
        "/servers", {**body, "server": {**body["server"], "return_reservation_id": True}}, 202
    ).json()["reservation_id"]
    listed = sized.compute.get("/servers/detail", params={"reservation_id": resv}).json()
    assert len(listed["servers"]) == 4
    statuses = {sized.wait(s["id"], "ERROR", "ACTIVE")["status"] for s in listed["servers"]}
    assert statuses == {"ERROR"}
    assert _actual_usage(sized) == {}
    _cleanup(sized)


def test_multi_create_within_capacity(sized: Env) -> None:
    body = {
        "server": {
            "name": "pair",
            "flavorRef": "slot",
            "imageRef": sized.image,
            "networks": "none",
            "min_count": 3,
            "max_count": 3,
        }
    }
    sized.compute.post("/servers", body, 202)
    servers = sized.compute.get("/servers/detail", params={"name": "^pair-"}).json()["servers"]
    assert sorted(s["name"] for s in servers) == ["pair-1", "pair-2", "pair-3"]
    for server in servers:
        assert sized.wait(server["id"], "ACTIVE", "ERROR")["status"] == "ACTIVE"
    assert _actual_usage(sized) == _expected_usage(sized)
    _cleanup(sized)


def _group(env: Env, policy: str, **rules: Any) -> str:
    body: dict[str, Any] = {"name": policy, "policy": policy}
    if rules:
        body["rules"] = rules
    return str(
        env.compute.post("/os-server-groups", {"server_group": body}, 200).json()["server_group"][
            "id"
        ]
    )


def _boot_in(env: Env, group: str, n: int) -> list[dict[str, Any]]:
    servers = []
    for i in range(n):
        body = {
            "server": {
                "name": f"g{i}",
                "flavorRef": "1",
                "imageRef": env.image,
                "networks": "none",
            },
            "os:scheduler_hints": {"group": group},
        }
        sid = env.compute.post("/servers", body, 202).json()["server"]["id"]
        servers.append(env.wait(sid, "ACTIVE", "ERROR"))
    return servers


def test_hard_anti_affinity_runs_out_of_hosts(sized: Env) -> None:
    servers = _boot_in(sized, _group(sized, "anti-affinity"), 3)
    assert [s["status"] for s in servers] == ["ACTIVE", "ACTIVE", "ERROR"]
    assert servers[0]["OS-EXT-SRV-ATTR:host"] != servers[1]["OS-EXT-SRV-ATTR:host"]
    _cleanup(sized)


def test_anti_affinity_max_server_per_host(sized: Env) -> None:
    servers = _boot_in(sized, _group(sized, "anti-affinity", max_server_per_host=2), 4)
    assert [s["status"] for s in servers] == ["ACTIVE"] * 4
    hosts = [s["OS-EXT-SRV-ATTR:host"] for s in servers]
    assert sorted(hosts.count(h) for h in set(hosts)) == [2, 2]
    _cleanup(sized)


def test_affinity_keeps_servers_together(sized: Env) -> None:
    servers = _boot_in(sized, _group(sized, "affinity"), 3)
    assert {s["status"] for s in servers} == {"ACTIVE"}
    assert len({s["OS-EXT-SRV-ATTR:host"] for s in servers}) == 1
    _cleanup(sized)


def test_soft_anti_affinity_prefers_other_hosts_but_does_not_fail(env: Env) -> None:
    # Equal hosts: the soft weigher decides (with unequal hosts free RAM/CPU may win, as
    # upstream's weights add up).
    servers = _boot_in(env, _group(env, "soft-anti-affinity"), 3)
    assert {s["status"] for s in servers} == {"ACTIVE"}
    assert len({s["OS-EXT-SRV-ATTR:host"] for s in servers[:2]}) == 2
    _cleanup(env)


def test_same_and_different_host_hints(sized: Env) -> None:
    first = sized.boot()
    body = {
        "server": {"name": "near", "flavorRef": "1", "imageRef": sized.image, "networks": "none"},
        "os:scheduler_hints": {"same_host": [first["id"]]},
    }
    near = sized.wait(sized.compute.post("/servers", body, 202).json()["server"]["id"], "ACTIVE")
    body["os:scheduler_hints"] = {"different_host": [first["id"]]}
    far = sized.wait(sized.compute.post("/servers", body, 202).json()["server"]["id"], "ACTIVE")
    assert near["OS-EXT-SRV-ATTR:host"] == first["OS-EXT-SRV-ATTR:host"]
    assert far["OS-EXT-SRV-ATTR:host"] != first["OS-EXT-SRV-ATTR:host"]
    _cleanup(sized)


def test_requested_host_at_274(sized: Env) -> None:
    server = sized.boot(host="fake-compute-2")
    assert server["OS-EXT-SRV-ATTR:host"] == "fake-compute-2"
    too_old = sized.compute.at("2.73").post(
        "/servers",
        {
            "server": {
                "name": "x",
                "flavorRef": "1",
                "imageRef": sized.image,
                "networks": "none",
                "host": "fake-compute-2",
            }
        },
    )
    assert too_old.status_code == 400
    _cleanup(sized)


def test_failed_builds_are_rescheduled_to_alternates(make_env: MakeEnv) -> None:
    env = make_env(
        "[compute]\nfake_hosts = 2\nfake_fail_spawn_hosts = fake-compute-1\n"
        "ram_weight_multiplier = -1.0\n"
    )
    server = env.boot()
    assert server["status"] == "ACTIVE"
    assert server["OS-EXT-SRV-ATTR:host"] == "fake-compute-2"
    actions = env.compute.get(f"/servers/{server['id']}/os-instance-actions").json()
    request_id = actions["instanceActions"][0]["request_id"]
    detail = env.compute.get(f"/servers/{server['id']}/os-instance-actions/{request_id}").json()
    results = [(e["event"], e["result"], e.get("host")) for e in detail["instanceAction"]["events"]]
    assert ("compute__do_build_and_run_instance", "Error", "fake-compute-1") in results
    assert ("compute__do_build_and_run_instance", "Success", "fake-compute-2") in results
    usages = {n: u for n, u in env.usages().items() if any(u.values())}
    assert list(usages) == ["fake-compute-2"]


def test_the_scheduler_widens_a_short_candidate_list(make_env: MakeEnv) -> None:
    # Two candidates per request, five hosts: hard anti-affinity needs the wider search.
    env = make_env("[compute]\nfake_hosts = 5\nmax_placement_results = 2\n")
    servers = _boot_in(env, _group(env, "anti-affinity"), 5)
    assert [s["status"] for s in servers] == ["ACTIVE"] * 5
    assert len({s["OS-EXT-SRV-ATTR:host"] for s in servers}) == 5
    sixth = _boot_in(env, servers_group(env, servers[0]["id"]), 1)[0]
    assert sixth["status"] == "ERROR"


def servers_group(env: Env, sid: str) -> str:
    return str(env.compute.get(f"/servers/{sid}").json()["server"]["server_groups"][0])
