"""L2: guests on one tenant network get their addresses by DHCP and reach each other."""

from __future__ import annotations

import time

from tests.network_dataplane.conftest import Cloud, has_dnsmasq
from tests.network_dataplane.support import wait_for


def test_two_guests_same_network(fresh: Cloud) -> None:
    cloud = fresh
    net, subnet = cloud.network("10.61.0.0/24")
    ports = [cloud.server_port(net["id"]) for _ in range(2)]
    started = time.monotonic()
    guests = [cloud.guest(p) for p in ports]
    for port in ports:
        assert cloud.wait_active(port["id"]), cloud.port_status(port["id"])
    active = time.monotonic() - started
    assert active < 5, active
    for guest in guests:
        if has_dnsmasq():
            lease = guest.dhcp()
            assert lease.get("ip") == guest.fixed_ip, lease
            assert lease.get("router") == subnet["gateway_ip"]
            assert lease.get("mtu") == str(net["mtu"])
        else:
            guest.static(f"{guest.fixed_ip}/24", subnet["gateway_ip"])
    assert guests[0].eventually_pings(guests[1].fixed_ip)
    assert guests[1].ping(guests[0].fixed_ip)
    bridge = "brq" + net["id"][:11]
    assert wait_for(lambda: __import__("os").path.exists(f"/sys/class/net/{bridge}"))
