"""Two hosts: a second L2 agent in a namespace of its own, VXLAN between them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from tests.network_dataplane.conftest import UNDERLAY, Cloud, has_dnsmasq
from tests.network_dataplane.support import Namespace, run, wait_for
from tinystack.network.agents.dataplane import DataPlane
from tinystack.network.agents.ip_lib import IpLib


@pytest.fixture
def second_host(fresh: Cloud) -> Iterator[tuple[Namespace, DataPlane]]:
    cloud = fresh
    host_ns = cloud.namespace("hB")
    near = f"{cloud.tag}-ub"
    run(["ip", "link", "add", near, "type", "veth", "peer", "name", "eth0", "netns", host_ns.name])
    run(["ip", "link", "set", near, "master", cloud.underlay_bridge, "up"])
    vtep = UNDERLAY.format(n=cloud.subnet_octet, h=2)
    host_ns.sh("ip", "addr", "add", f"{vtep}/24", "dev", "eth0")
    host_ns.sh("ip", "link", "set", "eth0", "up")
    # the cloud's options with another host's values
    opts = dataclasses.replace(
        cloud.opts, local_ip=vtep, bridge_mappings=(), host_namespace=host_ns.name
    )
    plane = DataPlane(
        opts,
        cloud.runtime.extra["network.workers"].transport,
        cloud.tmp / "host2",
        host=f"{cloud.tag}-h2",
        namespace=host_ns.name,
        agents=["l2"],
    )
    plane.start()
    try:
        assert plane.wait_synced(30)
        yield host_ns, plane
    finally:
        plane.stop(cleanup=True)
        run(["ip", "link", "delete", near], check=False)


def test_vxlan_between_two_hosts(fresh: Cloud, second_host: tuple[Namespace, DataPlane]) -> None:
    cloud = fresh
    host_ns, plane = second_host
    net, subnet = cloud.network("10.65.0.0/24")
    net = cloud.get("network", net["id"])
    assert net["provider:network_type"] == "vxlan"
    vni = net["provider:segmentation_id"]
    here = cloud.server_port(net["id"])
    there = cloud.server_port(net["id"], host=plane.host)
    guest_here = cloud.guest(here)
    guest_there = cloud.guest(there, host_ns=host_ns.name)
    assert cloud.wait_active(here["id"]) and cloud.wait_active(there["id"])
    # each host floods to the other's VTEP
    local = IpLib()
    remote = IpLib(host_ns.name)
    vtep_b = plane.l2.local_ip if plane.l2 else ""
    assert wait_for(lambda: vtep_b in local.flood_destinations(f"vxlan-{vni}"), 10)
    assert wait_for(lambda: cloud.local_ip in remote.flood_destinations(f"vxlan-{vni}"), 10)
    for guest in (guest_here, guest_there):
        if has_dnsmasq():
            assert guest.dhcp().get("ip") == guest.fixed_ip
        else:
            guest.static(f"{guest.fixed_ip}/24", subnet["gateway_ip"])
    assert guest_there.eventually_pings(guest_here.fixed_ip)
    assert guest_here.ping(guest_there.fixed_ip)
    # what each agent's pass reads of its taps: one look at the links of its namespace
    bridge = "brq" + net["id"][:11]
    assert local.link_masters("tap")[guest_here.tap] == bridge
    assert remote.link_masters("tap")[guest_there.tap] == bridge
    agents = cloud.call("GET", "/agents", admin=True, expect=200)["agents"]
    mine = {(a["host"], a["agent_type"]): a for a in agents}
    b = mine[(plane.host, "Linux bridge agent")]
    assert b["alive"] and b["configurations"]["tunneling_ip"] == vtep_b
    # the port on host 2 goes away: host 2 removes the network's bridge and vxlan device
    cloud.destroy_namespaces_of([guest_there])
    assert wait_for(lambda: cloud.port_status(there["id"]) == "DOWN", 10)
    cloud.delete(f"/ports/{there['id']}")
    assert wait_for(lambda: not remote.exists("brq" + net["id"][:11]), 10)
    assert not remote.exists(f"vxlan-{vni}")
    cloud.destroy_namespaces_of([guest_here])
    cloud.delete(f"/ports/{here['id']}")
    cloud.delete(f"/networks/{net['id']}")
    assert wait_for(lambda: not local.exists(f"vxlan-{vni}"), 10)


def _kernel_has_vlan(ns: Namespace) -> bool:
    ns.sh("ip", "link", "add", "probe0", "type", "dummy", check=False)
    added = ns.sh(
        "ip",
        "link",
        "add",
        "link",
        "probe0",
        "name",
        "probe0.5",
        "type",
        "vlan",
        "id",
        "5",
        check=False,
    )
    ok = "probe0.5" in ns.sh("ip", "-o", "link", "show", check=False)
    ns.sh("ip", "link", "delete", "probe0", check=False)
    return ok and added is not None


def test_vlan_network_on_the_physical_bridge(fresh: Cloud) -> None:
    """A VLAN provider network leaves the host tagged on its physical network's bridge."""
    cloud = fresh
    if not _kernel_has_vlan(cloud.namespace("vlanprobe")):
        pytest.skip("this kernel has no 802.1Q VLAN devices (CONFIG_VLAN_8021Q)")
    provider: dict[str, Any] = {
        "provider:network_type": "vlan",
        "provider:physical_network": "public",
        "provider:segmentation_id": 142,
    }
    net = cloud.create("network", admin=True, name=f"{cloud.tag}-vlan", **provider)
    cloud.create(
        "subnet",
        admin=True,
        network_id=net["id"],
        cidr="10.68.0.0/24",
        ip_version=4,
        enable_dhcp=False,
    )
    port = cloud.server_port(net["id"])
    guest = cloud.guest(port)
    assert cloud.wait_active(port["id"])
    guest.static(f"{guest.fixed_ip}/24", None)
    # a host on the physical network, on VLAN 142
    outside = cloud.outside_host("192.0.2.9/24")
    outside.sh("ip", "link", "add", "link", "eth0", "name", "eth0.142", "type", "vlan", "id", "142")
    outside.sh("ip", "addr", "add", "10.68.0.250/24", "dev", "eth0.142")
    outside.sh("ip", "link", "set", "eth0.142", "up")
    assert outside.eventually_pings(guest.fixed_ip)
    cloud.rule(
        port["security_groups"][0],
        protocol="icmp",
        remote_ip_prefix="10.68.0.250/32",
    )
    assert guest.eventually_pings("10.68.0.250")
    cloud.destroy_namespaces()
    cloud.delete(f"/ports/{port['id']}")
    cloud.delete(f"/networks/{net['id']}")
    assert wait_for(lambda: not IpLib().exists("brq" + net["id"][:11]), 10)


def test_each_host_wires_the_segment_it_carries(
    fresh: Cloud, second_host: tuple[Namespace, DataPlane]
) -> None:
    """A network of two segments, flat ``public`` then VXLAN: host 1 (which maps
    ``public``) wires the flat one, host 2 (tunnels only) the VXLAN one; the segments
    are separate L2 domains, as upstream's routed networks are."""
    cloud = fresh
    host_ns, plane = second_host
    segments = [
        {"provider:network_type": "flat", "provider:physical_network": "public"},
        {"provider:network_type": "vxlan"},
    ]
    net = cloud.create("network", admin=True, name=f"{cloud.tag}-2seg", segments=segments)
    listed = cloud.call("GET", f"/segments?network_id={net['id']}", admin=True, expect=200)
    by_type = {s["network_type"]: s for s in listed["segments"]}
    vni = by_type["vxlan"]["segmentation_id"]
    cloud.create(
        "subnet",
        admin=True,
        network_id=net["id"],
        cidr="10.69.0.0/24",
        ip_version=4,
        enable_dhcp=False,
    )
    here = cloud.server_port(net["id"])
    there = cloud.server_port(net["id"], host=plane.host)
    cloud.guest(here)
    cloud.guest(there, host_ns=host_ns.name)
    assert cloud.wait_active(here["id"]) and cloud.wait_active(there["id"])
    bridge = "brq" + net["id"][:11]
    local, remote = IpLib(), IpLib(host_ns.name)
    assert wait_for(lambda: f"vxlan-{vni}" in remote.bridge_ports(bridge), 10)
    assert f"vxlan-{vni}" not in local.bridge_ports(bridge)
    trunk = cloud.plane.l2._trunk_names("public")[1] if cloud.plane.l2 else ""
    assert trunk in local.bridge_ports(bridge)
    busy = cloud.call("DELETE", f"/segments/{by_type['vxlan']['id']}", admin=True, expect=409)
    assert busy["NeutronError"]["type"] == "SegmentInUse"
    cloud.destroy_namespaces()
    cloud.delete(f"/ports/{there['id']}")
    cloud.delete(f"/segments/{by_type['vxlan']['id']}")
    cloud.delete(f"/ports/{here['id']}")
    cloud.delete(f"/networks/{net['id']}")
    assert wait_for(lambda: not remote.exists(bridge), 10)
