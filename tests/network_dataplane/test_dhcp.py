"""DHCP: dnsmasq in the network's namespace, its options, reloads and removal."""

from __future__ import annotations

import dataclasses

import pytest

from tests.network_dataplane.conftest import Cloud, has_dnsmasq
from tests.network_dataplane.support import FakeMetadata, wait_for
from tinystack.network.agents import ip_lib
from tinystack.network.conf import Options

pytestmark = pytest.mark.skipif(not has_dnsmasq(), reason="dnsmasq (dnsmasq-base) missing")


def test_options_reload_and_removal(fresh: Cloud) -> None:
    cloud = fresh
    net = cloud.create("network", name=f"{cloud.tag}-dhcp")
    subnet = cloud.create(
        "subnet",
        network_id=net["id"],
        cidr="10.67.0.0/24",
        ip_version=4,
        dns_nameservers=["10.67.0.53"],
        host_routes=[{"destination": "192.0.2.0/24", "nexthop": "10.67.0.254"}],
    )
    ns = cloud.opts.dhcp_namespace_prefix + net["id"]
    first = cloud.server_port(net["id"])
    assert wait_for(lambda: ip_lib.netns_exists(ns), 10)
    dhcp_ports = cloud.call(
        "GET", f"/ports?network_id={net['id']}&device_owner=network:dhcp", admin=True, expect=200
    )["ports"]
    assert len(dhcp_ports) == 1 and dhcp_ports[0]["status"] in ("ACTIVE", "BUILD", "DOWN")
    assert wait_for(lambda: cloud.port_status(dhcp_ports[0]["id"]) == "ACTIVE", 10)
    guest = cloud.guest(first)
    lease = guest.dhcp()
    assert lease["ip"] == guest.fixed_ip and lease["mask"] == "24"
    assert lease["dns"] == "10.67.0.53"
    assert lease["hostname"] == "host-" + guest.fixed_ip.replace(".", "-")
    # classless static routes: the host route and the default route via the gateway
    routes = lease["staticroutes"].split()
    assert routes[:2] == ["192.0.2.0/24", "10.67.0.254"]
    assert routes[2:] == ["0.0.0.0/0", subnet["gateway_ip"]]
    # a port created while dnsmasq runs is served after a reload (SIGHUP)
    pid = ip_lib.read_pid(cloud.plane.ctx.state_dir / "dhcp" / net["id"] / "pid")
    late = cloud.server_port(net["id"])
    other = cloud.guest(late)
    assert other.dhcp()["ip"] == other.fixed_ip
    assert ip_lib.read_pid(cloud.plane.ctx.state_dir / "dhcp" / net["id"] / "pid") == pid
    leases = (cloud.plane.ctx.state_dir / "dhcp" / net["id"] / "leases").read_text()
    assert guest.port["mac_address"] in leases and other.port["mac_address"] in leases
    # a new fixed address is handed out on the next request (one no port holds yet:
    # addresses are allocated at random)
    ports = cloud.call("GET", f"/ports?network_id={net['id']}", admin=True, expect=200)
    used = {ip["ip_address"] for p in ports["ports"] for ip in p["fixed_ips"]}
    new_ip = next(f"10.67.0.{n}" for n in range(77, 250) if f"10.67.0.{n}" not in used)
    cloud.call(
        "PUT",
        f"/ports/{late['id']}",
        {"port": {"fixed_ips": [{"subnet_id": subnet["id"], "ip_address": new_ip}]}},
        admin=True,
        expect=200,
    )
    assert wait_for(lambda: other.dhcp(timeout=3).get("ip") == new_ip, 10)
    # no DHCP on the subnet any more: namespace, dnsmasq and the DHCP port go away
    cloud.call("PUT", f"/subnets/{subnet['id']}", {"subnet": {"enable_dhcp": False}}, expect=200)
    assert wait_for(lambda: not ip_lib.netns_exists(ns), 10)
    assert pid is not None and not ip_lib.pid_alive(pid, net["id"])
    assert wait_for(
        lambda: (
            not cloud.call(
                "GET",
                f"/ports?network_id={net['id']}&device_owner=network:dhcp",
                admin=True,
                expect=200,
            )["ports"]
        ),
        5,
    )
    cloud.destroy_namespaces()
    for port in (first, late):
        cloud.delete(f"/ports/{port['id']}")
    cloud.delete(f"/networks/{net['id']}")


def test_isolated_network_metadata_through_the_dhcp_namespace(fresh: Cloud) -> None:
    cloud = fresh
    dhcp = cloud.plane.dhcp
    assert dhcp is not None
    options = dhcp.opts
    assert isinstance(options, Options)
    dhcp.opts = dataclasses.replace(options, enable_isolated_metadata=True)
    fake = FakeMetadata()
    try:
        cloud.set_metadata_url(fake.url)
        net, subnet = cloud.network("10.70.0.0/24")
        port = cloud.server_port(net["id"])
        guest = cloud.guest(port)
        assert cloud.wait_active(port["id"])
        lease = guest.dhcp()
        assert lease["ip"] == guest.fixed_ip
        routes = lease["staticroutes"].split()
        assert routes[0] == "169.254.169.254/32", routes
        guest.sh("ip", "route", "replace", routes[0], "via", routes[1])

        def fetch() -> str:
            return guest.sh(
                "busybox",
                "wget",
                "-q",
                "-O",
                "-",
                "http://169.254.169.254/latest/meta-data/instance-id",
                check=False,
            )

        assert wait_for(fetch, 10, 0.2)
        assert fake.seen[-1]["x-instance-id"] == port["device_id"]
        assert fake.seen[-1]["x-forwarded-for"] == guest.fixed_ip
        cloud.destroy_namespaces()
        cloud.delete(f"/ports/{port['id']}")
        cloud.delete(f"/networks/{net['id']}")
    finally:
        dhcp.opts = options
        fake.close()
