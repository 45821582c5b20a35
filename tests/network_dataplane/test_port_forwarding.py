"""Floating IP port forwarding: DNAT of the floating IP's ports in the router namespace,
reached from the outside host; upstream's answers to overlaps and to a port association."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.network_dataplane.conftest import Cloud
from tests.network_dataplane.support import wait_for
from tests.network_dataplane.test_l3 import Topology


@pytest.fixture
def topo(fresh: Cloud) -> Iterator[Topology]:
    topo = Topology(fresh, "10.63.0.0/24")
    yield topo
    fresh.destroy_namespaces()
    topo.teardown()


def _forward(cloud: Cloud, fip_id: str, expect: int = 201, **body: Any) -> Any:
    path = f"/floatingips/{fip_id}/port_forwardings"
    return cloud.call("POST", path, {"port_forwarding": body}, expect=expect)


def test_port_forwarding_reaches_the_guest(topo: Topology) -> None:
    cloud, guest, outside = topo.cloud, topo.guest, topo.outside
    for port in (22, 8001):
        guest.serve_tcp(port)
        cloud.rule(
            topo.port["security_groups"][0],
            protocol="tcp",
            port_range_min=port,
            port_range_max=port,
        )
    fip = cloud.create("floatingip", floating_network_id=topo.public["id"])
    address = fip["floating_ip_address"]
    internal = {"internal_port_id": topo.port["id"], "internal_ip_address": guest.fixed_ip}
    ssh = _forward(
        cloud, fip["id"], protocol="tcp", internal_port=22, external_port=2222, **internal
    )["port_forwarding"]
    assert ssh["external_port"] == 2222 and ssh["internal_port_range"] == "22:22"
    assert cloud.get("floatingip", fip["id"])["router_id"] == topo.router["id"]
    # the outside host reaches the guest's port 22 through fip:2222, its address kept
    assert wait_for(lambda: outside.tcp(address, 2222, "ssh") == "203.0.113.1 ssh", 10)
    # a range onto a range of the same length, port by port
    _forward(
        cloud,
        fip["id"],
        protocol="tcp",
        internal_port_range="8000:8001",
        external_port_range="3000:3001",
        **internal,
    )
    assert wait_for(lambda: outside.tcp(address, 3001, "range") == "203.0.113.1 range", 10)
    # overlapping external ranges of one floating IP and protocol: 400, as upstream
    bad = _forward(
        cloud,
        fip["id"],
        400,
        protocol="tcp",
        internal_port=23,
        external_port_range="2220:2230",
        **internal,
    )
    assert bad["NeutronError"]["type"] == "BadRequest"
    _forward(cloud, fip["id"], 400, protocol="tcp", internal_port=22, external_port=22, **internal)
    _forward(
        cloud,
        fip["id"],
        400,
        protocol="tcp",
        internal_port_range="1:3",
        external_port_range="100:101",
        **internal,
    )
    # a floating IP with forwardings cannot also be associated with a port: 409
    body = {"floatingip": {"port_id": topo.port["id"]}}
    cloud.call("PUT", f"/floatingips/{fip['id']}", body, expect=409)
    listed = cloud.call("GET", f"/floatingips/{fip['id']}/port_forwardings", expect=200)
    assert len(listed["port_forwardings"]) == 2
    # removing the forwarding cuts it
    cloud.delete(f"/floatingips/{fip['id']}/port_forwardings/{ssh['id']}", admin=False)
    assert wait_for(lambda: outside.tcp(address, 2222, "gone") is None, 10)
    assert outside.tcp(address, 3000, "still") is None  # 3000 -> 8000: nothing listens
