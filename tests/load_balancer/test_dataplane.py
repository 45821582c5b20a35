"""A load balancer in front of two fake guests, through the ``openstack loadbalancer`` CLI:
round robin, a member failing its health check, an agent restart, delete."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.load_balancer.conftest import LbCloud
from tests.network_dataplane.support import Guest, Namespace, wait_for

REQUESTS = """
import sys, urllib.request
for _ in range(int(sys.argv[2])):
    try:
        print(urllib.request.urlopen(f"http://{sys.argv[1]}/", timeout=2).read().decode().strip())
    except Exception as exc:
        print(f"error {exc}")
"""


def serve_hostname(guest: Guest, name: str, root: Path) -> subprocess.Popen[bytes]:
    site = root / name
    site.mkdir(parents=True, exist_ok=True)
    (site / "index.html").write_text(name + "\n")
    proc = guest.spawn(sys.executable, "-m", "http.server", "8080", "--bind",
                       guest.fixed_ip, "--directory", str(site))  # fmt: skip
    assert wait_for(lambda: guest.tcp(guest.fixed_ip, 8080, "GET / HTTP/1.0\r\n") is not None, 10)
    return proc


def get_many(client: Namespace, address: str, count: int) -> list[str]:
    out = client.sh(sys.executable, "-c", REQUESTS, address, str(count), timeout=60)
    return out.split("\n")[:-1] if out.endswith("\n") else out.split("\n")


def haproxy_pids(lb_id: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if b"haproxy" in cmd and lb_id.encode() in cmd:
                found.append(int(entry))
    return found


def member_status(cloud: LbCloud, pool_id: str, member_id: str) -> str:
    path = f"/v2/lbaas/pools/{pool_id}/members/{member_id}"
    return str(cloud.lb.get(path).json()["member"]["operating_status"])


def test_round_robin_health_restart_and_delete(cloud: LbCloud, tmp_path: Path) -> None:
    net, subnet = cloud.network("10.91.0.0/24")
    one, two = cloud.guest("b1", net["id"], 24), cloud.guest("b2", net["id"], 24)
    client = cloud.guest("cl", net["id"], 24)
    servers = {"b1": serve_hostname(one, "b1", tmp_path), "b2": serve_hostname(two, "b2", tmp_path)}

    started = time.monotonic()
    lb = cloud.osc("loadbalancer", "create", "--name", f"{cloud.tag}-lb",
                   "--vip-subnet-id", subnet["id"], "--wait")  # fmt: skip
    create_seconds = time.monotonic() - started
    assert lb["provisioning_status"] == "ACTIVE", lb
    assert lb["provider"] == "haproxy"
    port = cloud.net.get(f"/v2.0/ports/{lb['vip_port_id']}").json()["port"]
    assert port["device_owner"] == "Octavia" and port["device_id"] == f"lb-{lb['id']}"
    listener = cloud.osc(
        "loadbalancer",
        "listener",
        "create",
        "--protocol",
        "HTTP",
        "--protocol-port",
        "80",
        lb["id"],
    )
    cloud.settle(lb["id"])  # fmt: skip
    pool = cloud.osc(
        "loadbalancer",
        "pool",
        "create",
        "--protocol",
        "HTTP",
        "--lb-algorithm",
        "ROUND_ROBIN",
        "--listener",
        listener["id"],
    )
    cloud.settle(lb["id"])  # fmt: skip
    members = {}
    for name, guest in (("b1", one), ("b2", two)):
        members[name] = cloud.osc("loadbalancer", "member", "create", "--address", guest.fixed_ip,
                                  "--protocol-port", "8080", "--subnet-id", subnet["id"],
                                  "--name", name, pool["id"])["id"]  # fmt: skip
        cloud.settle(lb["id"])
    cloud.osc("loadbalancer", "healthmonitor", "create", "--delay", "1", "--timeout", "1",
              "--max-retries", "1", "--max-retries-down", "2", "--type", "HTTP",
              "--url-path", "/", pool["id"])  # fmt: skip
    cloud.settle(lb["id"])
    assert wait_for(
        lambda: all(member_status(cloud, pool["id"], m) == "ONLINE" for m in members.values()),
        15, 0.2,
    ), "members did not come ONLINE"  # fmt: skip

    vip = lb["vip_address"]
    answers = get_many(client, vip, 6)
    assert sorted(answers) == ["b1"] * 3 + ["b2"] * 3, answers
    assert all(a != b for a, b in zip(answers, answers[1:], strict=False)), answers

    # an L7 policy rejects a path prefix
    policy = cloud.osc("loadbalancer", "l7policy", "create", "--action", "REJECT", listener["id"])
    cloud.settle(lb["id"])
    cloud.osc("loadbalancer", "l7rule", "create", "--type", "PATH", "--compare-type",
              "STARTS_WITH", "--value", "/deny", policy["id"])  # fmt: skip
    cloud.settle(lb["id"])
    assert "403" in get_many(client, vip + "/deny/x", 1)[0]
    assert sorted(get_many(client, vip, 2)) == ["b1", "b2"]

    # one backend stops: within the monitor's window (2 failures, 1 s apart, 1 s timeout,
    # plus the agent's read of the stats socket) its member goes ERROR
    servers["b1"].terminate()
    servers["b1"].wait()
    stopped = time.monotonic()
    assert wait_for(lambda: member_status(cloud, pool["id"], members["b1"]) == "ERROR", 8, 0.1)
    assert time.monotonic() - stopped < 6
    assert member_status(cloud, pool["id"], members["b2"]) == "ONLINE"
    pool_now = cloud.osc("loadbalancer", "pool", "show", pool["id"])
    assert pool_now["operating_status"] == "DEGRADED"
    assert get_many(client, vip, 4) == ["b2"] * 4
    # the stored counters follow HAProxy's at the agent's next read of its stats socket
    assert wait_for(
        lambda: cloud.osc("loadbalancer", "stats", "show", lb["id"])["total_connections"] >= 10,
        5,
        0.3,
    ), cloud.osc("loadbalancer", "stats", "show", lb["id"])
    tree = cloud.lb.get(f"/v2/lbaas/loadbalancers/{lb['id']}/status").json()["statuses"]
    pools = tree["loadbalancer"]["listeners"][0]["pools"]
    assert {m["operating_status"] for m in pools[0]["members"]} == {"ERROR", "ONLINE"}

    # the cloud (and its agent) restarts: HAProxy keeps serving and is adopted, not doubled
    before = haproxy_pids(lb["id"])
    assert len(before) == 1, before
    cloud.proc.stop()
    assert get_many(client, vip, 2) == ["b2"] * 2
    cloud.proc.start(timeout=120)
    time.sleep(1)  # the agent's start-up sync
    assert haproxy_pids(lb["id"]) == before
    assert get_many(client, vip, 2) == ["b2"] * 2

    namespace = f"{cloud.tag}-lb-{lb['id']}"
    assert namespace in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                       text=True, check=True).stdout  # fmt: skip
    cloud.osc("loadbalancer", "delete", "--cascade", lb["id"])
    path = f"/v2/lbaas/loadbalancers/{lb['id']}"
    assert wait_for(lambda: cloud.lb.get(path).status_code == 404, 20, 0.05)
    assert not haproxy_pids(lb["id"])
    assert namespace not in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                           text=True, check=True).stdout  # fmt: skip
    assert cloud.net.get(f"/v2.0/ports/{lb['vip_port_id']}").status_code == 404
    print(f"load balancer create --wait: {create_seconds:.2f} s")


def test_bad_input_gets_octavias_status(cloud: LbCloud) -> None:
    """Refusals carry Octavia's status (never a 500), on a noop_driver load balancer."""
    net, subnet = cloud.network("10.93.0.0/24")
    lbs, missing = "/v2/lbaas/loadbalancers", "00000000-0000-0000-0000-000000000000"

    def post(path: str, body: dict[str, object], status: int) -> dict[str, object]:
        response = cloud.lb.post(path, json=body)
        assert response.status_code == status, (path, body, response.text)
        found: dict[str, object] = response.json() if response.content else {}
        return found

    post(lbs, {"loadbalancer": {"name": "x"}}, 400)
    post(lbs, {"loadbalancer": {"vip_subnet_id": missing}}, 400)
    post(lbs, {"loadbalancer": {"vip_subnet_id": subnet["id"], "provider": "bogus"}}, 400)
    post(lbs, {"loadbalancer": {"vip_subnet_id": subnet["id"], "color": "red"}}, 400)
    post(lbs, {"loadbalancer": {"vip_subnet_id": subnet["id"], "vip_address": "10.1.1.1"}}, 400)
    bad_json = cloud.lb.post(
        lbs, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400
    gone = cloud.lb.get(f"{lbs}/{missing}")
    assert gone.status_code == 404 and "faultstring" in gone.json()

    body = {"vip_subnet_id": subnet["id"], "provider": "noop_driver"}
    lb = post(lbs, {"loadbalancer": body}, 201)["loadbalancer"]
    assert isinstance(lb, dict)
    cloud.settle(lb["id"])
    listeners = "/v2/lbaas/listeners"
    li = {"loadbalancer_id": lb["id"], "protocol": "TCP", "protocol_port": 80}
    post(listeners, {"listener": {**li, "protocol": "FOO"}}, 400)
    post(listeners, {"listener": {**li, "protocol_port": 70000}}, 400)
    post(listeners, {"listener": {**li, "loadbalancer_id": missing}}, 404)
    listener = post(listeners, {"listener": li}, 201)["listener"]
    assert isinstance(listener, dict)
    cloud.settle(lb["id"])
    post(listeners, {"listener": li}, 409)

    pools = "/v2/lbaas/pools"
    pool = {"listener_id": listener["id"], "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN"}
    post(pools, {"pool": {**pool, "lb_algorithm": "RANDOM"}}, 400)
    post(pools, {"pool": {**pool, "protocol": "UDP"}}, 400)  # not a TCP listener's
    post(pools, {"pool": {**pool, "session_persistence": {"type": "APP_COOKIE"}}}, 400)
    made = post(pools, {"pool": pool}, 201)["pool"]
    assert isinstance(made, dict)
    cloud.settle(lb["id"])

    members = f"{pools}/{made['id']}/members"
    member = {"address": "10.93.0.10", "protocol_port": 8080}
    post(members, {"member": {**member, "address": "not-an-ip"}}, 400)
    post(members, {"member": {**member, "weight": 300}}, 400)
    post(members, {"member": {**member, "subnet_id": missing}}, 400)
    post(members, {"member": member}, 201)
    cloud.settle(lb["id"])
    post(members, {"member": member}, 409)

    monitors = "/v2/lbaas/healthmonitors"
    hm = {"pool_id": made["id"], "type": "HTTP", "delay": 2, "timeout": 1, "max_retries": 2}
    post(monitors, {"healthmonitor": {**hm, "max_retries": 11}}, 400)
    post(monitors, {"healthmonitor": {**hm, "url_path": "noslash"}}, 400)
    post(monitors, {"healthmonitor": {**hm, "type": "TCP", "url_path": "/"}}, 400)
    post(monitors, {"healthmonitor": hm}, 201)
    cloud.settle(lb["id"])
    post(monitors, {"healthmonitor": hm}, 409)

    policy = {"listener_id": listener["id"], "action": "REJECT"}
    post("/v2/lbaas/l7policies", {"l7policy": policy}, 400)  # a TCP listener

    project = lb["project_id"]
    used = len(cloud.lb.get(lbs, params={"project_id": project}).json()["loadbalancers"])
    quota = cloud.lb.put(f"/v2/lbaas/quotas/{project}", json={"quota": {"loadbalancer": used}})
    assert quota.status_code == 200 and quota.json()["quota"]["load_balancer"] == used
    try:
        post(lbs, {"loadbalancer": body}, 403)
    finally:
        assert cloud.lb.delete(f"/v2/lbaas/quotas/{project}").status_code == 204

    assert cloud.lb.delete(f"{lbs}/{lb['id']}").status_code == 400  # it has children
    assert cloud.lb.delete(f"{lbs}/{lb['id']}", params={"cascade": "true"}).status_code == 204
    assert wait_for(lambda: cloud.lb.get(f"{lbs}/{lb['id']}").status_code == 404, 10, 0.05)
