"""DNS integration on the data plane: the network's dnsmasq answers the ports' names."""

from __future__ import annotations

import pytest

from tests.network_dataplane.conftest import DNS_DOMAIN, Cloud, has_dnsmasq
from tests.network_dataplane.support import wait_for
from tinystack.network.agents import ip_lib

pytestmark = pytest.mark.skipif(not has_dnsmasq(), reason="dnsmasq (dnsmasq-base) missing")
DOMAIN = DNS_DOMAIN.rstrip(".")


def test_guests_resolve_each_other_by_name(fresh: Cloud) -> None:
    cloud = fresh
    net, _ = cloud.network("10.74.0.0/24")
    named = cloud.server_port(net["id"], dns_name="alpha")
    assert named["dns_assignment"][0]["fqdn"] == f"alpha.{DNS_DOMAIN}"
    plain = cloud.server_port(net["id"])
    first, second = cloud.guest(named), cloud.guest(plain)
    assert cloud.wait_active(named["id"]) and cloud.wait_active(plain["id"])
    lease = second.dhcp()
    assert lease["ip"] == second.fixed_ip
    # no dns_nameservers on the subnet: dnsmasq offers itself, on the DHCP port's address
    dhcp_port = cloud.call(
        "GET", f"/ports?network_id={net['id']}&device_owner=network:dhcp", admin=True, expect=200
    )["ports"][0]
    server = dhcp_port["fixed_ips"][0]["ip_address"]
    assert lease["dns"] == server
    assert first.dhcp()["hostname"] == "alpha"
    # by name and by FQDN, both ways (the unnamed port by its host-<address> name)
    assert wait_for(lambda: second.lookup("alpha", server) == [first.fixed_ip], 10)
    assert second.lookup(f"alpha.{DOMAIN}", server) == [first.fixed_ip]
    default = "host-" + second.fixed_ip.replace(".", "-")
    assert first.lookup(default, server) == [second.fixed_ip]
    assert first.lookup(f"{default}.{DOMAIN}", server) == [second.fixed_ip]
    assert second.lookup("nobody", server) == []
    # a new name is served after a reload of the hosts files, not a restart
    pid = ip_lib.read_pid(cloud.plane.ctx.state_dir / "dhcp" / net["id"] / "pid")
    renamed = cloud.update_port(named["id"], admin=True, dns_name="beta")
    assert renamed["dns_assignment"][0]["hostname"] == "beta"
    assert wait_for(lambda: second.lookup("beta", server) == [first.fixed_ip], 10)
    assert second.lookup(f"beta.{DOMAIN}", server) == [first.fixed_ip]
    assert second.lookup("alpha", server) == []
    assert ip_lib.read_pid(cloud.plane.ctx.state_dir / "dhcp" / net["id"] / "pid") == pid
    cloud.destroy_namespaces()
    for port in (named, plain):
        cloud.delete(f"/ports/{port['id']}")
    cloud.delete(f"/networks/{net['id']}")
