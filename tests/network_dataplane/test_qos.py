"""QoS: a bandwidth limit rule on a port caps a fake guest's iperf3 stream; removing the
rule lifts it; an agent restart leaves the tap's qdiscs and the egress table as they were.
Also the QoS API's upstream answers (rule types, conflicts, policies in use)."""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest

from tests.network_dataplane.conftest import Cloud
from tests.network_dataplane.support import Guest, run, wait_for
from tinystack.network.agents import qos

LIMIT_KBPS = 10_000
SECONDS = 4

needs_iperf3 = pytest.mark.skipif(
    shutil.which("iperf3") is None, reason="needs iperf3 (Debian package iperf3)"
)


def _mbits(receiver: Guest, sender: Guest) -> float:
    """Mbit/s ``receiver`` gets from ``sender`` (its iperf3 server) in a TCP stream, after
    the first second (the token bucket's initial fill: a second of rate plus the burst)."""
    cmd = ["iperf3", "-c", sender.fixed_ip, "-R", "-t", str(SECONDS), "-J"]
    out = json.loads(receiver.sh(*cmd, timeout=SECONDS + 20))
    steady = [float(i["sum"]["bits_per_second"]) for i in out["intervals"][1:]]
    return sum(steady) / len(steady) / 1e6


def _state(cloud: Cloud, tap: str) -> tuple[str, str]:
    qdiscs = run(["tc", "qdisc", "show", "dev", tap])
    table = run(["nft", "list", "table", "bridge", qos.table_name(cloud.chain_prefix)])
    return qdiscs, table


def _policy(cloud: Cloud, **body: Any) -> Any:
    return cloud.create("policy", admin=True, path="qos/policies", **body)


def test_qos_api(fresh: Cloud) -> None:
    cloud = fresh
    types = cloud.call("GET", "/qos/rule-types", admin=True, expect=200)["rule_types"]
    assert {t["type"] for t in types} == {"bandwidth_limit", "dscp_marking", "minimum_bandwidth"}
    # members list the types too (neutron-tempest-plugin's member client does); a type's
    # drivers are for admins
    assert cloud.call("GET", "/qos/rule-types", expect=200)["rule_types"] == types
    cloud.call("GET", "/qos/rule-types/bandwidth_limit", expect=403)
    policy = _policy(cloud, name="gold", project_id=cloud.project)
    rules = f"/qos/policies/{policy['id']}/bandwidth_limit_rules"
    body = {"bandwidth_limit_rule": {"max_kbps": 1000}}
    rule = cloud.call("POST", rules, body, admin=True, expect=201)["bandwidth_limit_rule"]
    assert rule["direction"] == "egress" and rule["max_burst_kbps"] == 0
    cloud.call("POST", rules, body, admin=True, expect=409)  # same type and direction
    bad = {"dscp_marking_rule": {"dscp_mark": 7}}
    cloud.call("POST", f"/qos/policies/{policy['id']}/dscp_marking_rules", bad, True, 400)
    cloud.call("POST", rules, body, expect=403)  # members do not write rules
    seen = cloud.call("GET", f"/qos/policies/{policy['id']}", expect=200)["policy"]
    assert [r["id"] for r in seen["rules"]] == [rule["id"]]
    net, _ = cloud.network("10.71.0.0/24", qos_policy_id=policy["id"])
    assert net["qos_policy_id"] == policy["id"]
    cloud.call("DELETE", f"/qos/policies/{policy['id']}", admin=True, expect=409)  # in use
    cloud.call("PUT", f"/networks/{net['id']}", {"network": {"qos_policy_id": None}}, expect=200)
    cloud.delete(f"/networks/{net['id']}")
    cloud.delete(f"/qos/policies/{policy['id']}")
    cloud.call("GET", f"/qos/policies/{policy['id']}", admin=True, expect=404)
    # a policy another project's network uses stays shared
    shared = _policy(cloud, name="silver", project_id="admin-project", shared=True)
    net, _ = cloud.network("10.72.0.0/24", qos_policy_id=shared["id"])
    unshare = {"policy": {"shared": False}}
    cloud.call("PUT", f"/qos/policies/{shared['id']}", unshare, admin=True, expect=409)
    cloud.delete(f"/networks/{net['id']}")
    seen = cloud.call("PUT", f"/qos/policies/{shared['id']}", unshare, admin=True, expect=200)
    assert seen["policy"]["shared"] is False


@needs_iperf3
def test_bandwidth_limit_caps_a_guest(fresh: Cloud) -> None:
    cloud = fresh
    net, subnet = cloud.network("10.72.0.0/24")
    ports = [cloud.server_port(net["id"]) for _ in range(2)]
    guest, server = (cloud.guest(p) for p in ports)
    for g in (guest, server):
        assert cloud.wait_active(g.port["id"])
        g.static(f"{g.fixed_ip}/24", subnet["gateway_ip"])
        g.sh("ip", "link", "set", "eth0", "mtu", str(net["mtu"]))  # as DHCP would tell it
    for g in (guest, server):
        g.spawn("iperf3", "-s")
    listening = lambda: all("5201" in g.sh("ss", "-ltn") for g in (guest, server))  # noqa: E731
    assert wait_for(listening, 10)
    policy = _policy(cloud, name="ten", project_id=cloud.project)
    rules = f"/qos/policies/{policy['id']}/bandwidth_limit_rules"
    body = {"bandwidth_limit_rule": {"max_kbps": LIMIT_KBPS}}
    rule = cloud.call("POST", rules, body, admin=True, expect=201)["bandwidth_limit_rule"]
    ingress_rule = {"bandwidth_limit_rule": {"max_kbps": LIMIT_KBPS, "direction": "ingress"}}
    cloud.call("POST", rules, ingress_rule, admin=True, expect=201)
    cloud.update_port(guest.port["id"], admin=True, qos_policy_id=policy["id"])
    table = qos.table_name(cloud.chain_prefix)
    assert wait_for(lambda: guest.tap in run(["nft", "list", "table", "bridge", table]), 10)
    assert wait_for(lambda: "tbf" in run(["tc", "qdisc", "show", "dev", guest.tap]), 10)
    egress = _mbits(server, guest)
    assert 0.8 * LIMIT_KBPS / 1000 <= egress <= 1.2 * LIMIT_KBPS / 1000, egress
    ingress = _mbits(guest, server)
    assert 0.8 * LIMIT_KBPS / 1000 <= ingress <= 1.2 * LIMIT_KBPS / 1000, ingress

    before = _state(cloud, guest.tap)
    cloud.restart_agents()
    assert _state(cloud, guest.tap) == before  # adopted: nothing duplicated or changed

    cloud.delete(f"{rules}/{rule['id']}")
    assert wait_for(lambda: guest.tap not in run(["nft", "list", "table", "bridge", table]), 10)
    free = _mbits(server, guest)
    assert free > 2 * LIMIT_KBPS / 1000, free
    cloud.update_port(guest.port["id"], admin=True, qos_policy_id=None)
    assert wait_for(lambda: "tbf" not in run(["tc", "qdisc", "show", "dev", guest.tap]), 10)
    cloud.delete(f"/qos/policies/{policy['id']}")
