"""Agents report, survive a restart without losing or duplicating anything, and clean up."""

from __future__ import annotations

import os
from collections import Counter

from tests.network_dataplane.conftest import Cloud, has_dnsmasq
from tests.network_dataplane.support import wait_for
from tinystack.network.agents import ip_lib


def _links() -> set[str]:
    return set(os.listdir("/sys/class/net"))


def test_agents_report_state(cloud: Cloud) -> None:
    agents = cloud.call("GET", "/agents", admin=True, expect=200)["agents"]
    mine = {a["agent_type"]: a for a in agents if a["host"] == cloud.host}
    expected = {"Linux bridge agent", "L3 agent", "Metadata agent"}
    if has_dnsmasq():
        expected.add("DHCP agent")
    assert expected <= set(mine)
    assert all(a["alive"] and a["heartbeat_timestamp"] for a in mine.values())
    l2 = mine["Linux bridge agent"]["configurations"]
    assert l2["bridge_mappings"] == {"public": cloud.public_bridge}
    assert l2["tunneling_ip"] == cloud.local_ip and l2["tunnel_types"] == ["vxlan"]
    assert "devices" in l2


def test_restart_resyncs_without_duplicates(fresh: Cloud) -> None:
    cloud = fresh
    public, _ = cloud.public_network()
    net, subnet = cloud.network("10.66.0.0/24")
    router = cloud.create(
        "router", name=f"{cloud.tag}-r", external_gateway_info={"network_id": public["id"]}
    )
    cloud.call(
        "PUT",
        f"/routers/{router['id']}/add_router_interface",
        {"subnet_id": subnet["id"]},
        expect=200,
    )
    ports = [cloud.server_port(net["id"]) for _ in range(2)]
    guests = [cloud.guest(p) for p in ports]
    for guest in guests:
        assert cloud.wait_active(guest.port["id"])
        guest.static(f"{guest.fixed_ip}/24", subnet["gateway_ip"])
    assert guests[0].eventually_pings(guests[1].fixed_ip)
    assert guests[0].eventually_pings(subnet["gateway_ip"])
    rules = {f: Counter(cloud.chain_rules(f)) for f in (4, 6)}
    namespaces = set(ip_lib.netns_list())
    links = _links()

    # restart twice: nothing duplicated, nothing lost, traffic keeps flowing
    for _ in range(2):
        cloud.restart_agents()
        assert {f: Counter(cloud.chain_rules(f)) for f in (4, 6)} == rules
        assert set(ip_lib.netns_list()) == namespaces
        assert _links() == links
        assert guests[0].ping(guests[1].fixed_ip)
        assert guests[0].ping(subnet["gateway_ip"])
    forward = [r for r in cloud.chain_rules(4) if r.startswith("-A FORWARD")]
    assert forward == [f"-A FORWARD -j {cloud.chain_prefix}-FWD"]

    # changes made while the agents are down are picked up by the resync
    cloud.plane.stop()
    gone = guests.pop()
    cloud.destroy_namespaces_of([gone])
    cloud.delete(f"/ports/{gone.port['id']}")
    late = cloud.server_port(net["id"])
    cloud.restart_agents()
    newcomer = cloud.guest(late)
    assert cloud.wait_active(late["id"])
    newcomer.static(f"{newcomer.fixed_ip}/24", subnet["gateway_ip"])
    assert newcomer.eventually_pings(guests[0].fixed_ip)
    assert not any(gone.port["id"][:11] in r for r in cloud.chain_rules(4))

    # deleting everything leaves nothing behind
    cloud.destroy_namespaces()
    for port in (guests[0].port, late):
        cloud.delete(f"/ports/{port['id']}")
    cloud.call(
        "PUT",
        f"/routers/{router['id']}/remove_router_interface",
        {"subnet_id": subnet["id"]},
        expect=200,
    )
    cloud.delete(f"/routers/{router['id']}")
    cloud.delete(f"/networks/{net['id']}")
    cloud.delete(f"/networks/{public['id']}")
    ids = [router["id"], net["id"], public["id"], *(p["id"] for p in ports), late["id"]]

    def clean() -> bool:
        names = set(ip_lib.netns_list()) | _links()
        text = " ".join(cloud.chain_rules(4) + cloud.chain_rules(6))
        return not any(i[:11] in n for i in ids for n in names) and not any(
            i[:11] in text for i in ids
        )

    assert wait_for(clean, 10), (ip_lib.netns_list(), _links(), cloud.chain_rules(4))
