"""L2: guests on one tenant network get their addresses by DHCP and reach each other."""

from __future__ import annotations

import os
import time

from tests.network_dataplane.conftest import Cloud, has_dnsmasq
from tests.network_dataplane.support import run, wait_for
from tinystack.network.agents.ip_lib import IpLib


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
    assert wait_for(lambda: os.path.exists(f"/sys/class/net/{bridge}"))


def test_a_tap_made_again_under_its_name_is_wired_again(fresh: Cloud) -> None:
    """A guest's QEMU started anew (a rebuild) deletes its tap and makes it again under
    the same name, quicker than the L2 agent's passes: the agent puts it back into its
    bridge at its next pass, not at the next full resync a minute later (the guest's DHCP
    gave up meanwhile, and Tempest's rebuilt server had no keys)."""
    cloud = fresh
    net, _ = cloud.network("10.62.0.0/24")
    port = cloud.server_port(net["id"])
    guest = cloud.guest(port)
    assert cloud.wait_active(port["id"]), cloud.port_status(port["id"])
    bridge = "brq" + net["id"][:11]
    master_of = IpLib().master_of
    assert wait_for(lambda: master_of(guest.tap) == bridge, 10)
    l2 = cloud.plane.l2
    assert l2 is not None
    again = [
        ["ip", "link", "delete", guest.tap],
        ["ip", "link", "add", guest.tap, "type", "veth", "peer", "name", "eth0",
         "address", port["mac_address"], "netns", guest.name],
        ["ip", "link", "set", guest.tap, "up"],
        ["ip", "-n", guest.name, "link", "set", "eth0", "up"],
    ]  # fmt: skip
    with l2.lock:  # no pass sees the tap gone
        for cmd in again:
            run(cmd)
    assert master_of(guest.tap) is None
    assert wait_for(lambda: master_of(guest.tap) == bridge, 10), "the new tap is not wired"
    if has_dnsmasq():
        assert guest.dhcp().get("ip") == guest.fixed_ip
