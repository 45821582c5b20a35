"""L3: SNAT to an outside host, floating IPs, security groups on them, metadata."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator

import pytest

from tests.network_dataplane.conftest import Cloud, has_dnsmasq
from tests.network_dataplane.support import FakeMetadata, in_ns, wait_for


class Topology:
    def __init__(self, cloud: Cloud, cidr: str) -> None:
        self.cloud = cloud
        self.public, self.public_subnet = cloud.public_network()
        try:
            self._build(cloud, cidr)
        except BaseException:  # what was made goes (a leftover public network is in the
            self.teardown()  # way of every later test's: FlatNetworkInUse)
            raise

    def _build(self, cloud: Cloud, cidr: str) -> None:
        self.net, self.subnet = cloud.network(cidr)
        self.router = cloud.create(
            "router", name=f"{cloud.tag}-r", external_gateway_info={"network_id": self.public["id"]}
        )
        cloud.call(
            "PUT",
            f"/routers/{self.router['id']}/add_router_interface",
            {"subnet_id": self.subnet["id"]},
            expect=200,
        )
        self.router = cloud.get("router", self.router["id"])
        self.gw_ip = self.router["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]
        self.port = cloud.server_port(self.net["id"])
        self.guest = cloud.guest(self.port)
        assert cloud.wait_active(self.port["id"])
        if has_dnsmasq():
            assert self.guest.dhcp().get("ip") == self.guest.fixed_ip
        else:
            self.guest.static(f"{self.guest.fixed_ip}/24", self.subnet["gateway_ip"])
        self.outside = cloud.outside_host()

    def teardown(self) -> None:
        """Delete what the topology made (all of it, or what a failed build had made)."""
        cloud, made = self.cloud, vars(self)
        for fip in cloud.call("GET", "/floatingips", admin=True)["floatingips"]:
            if fip["floating_network_id"] == self.public["id"] or (
                "router" in made and fip["router_id"] == self.router["id"]
            ):
                # as upstream, a floating IP with port forwardings cannot be deleted
                path = f"/floatingips/{fip['id']}/port_forwardings"
                for forwarding in cloud.call("GET", path, admin=True)["port_forwardings"]:
                    cloud.delete(f"{path}/{forwarding['id']}")
                cloud.delete(f"/floatingips/{fip['id']}")
        if "port" in made:
            cloud.delete(f"/ports/{self.port['id']}")
        if "router" in made:
            if "gw_ip" in made:  # set once the interface was added
                cloud.call(
                    "PUT",
                    f"/routers/{self.router['id']}/remove_router_interface",
                    {"subnet_id": self.subnet["id"]},
                    admin=True,
                    expect=200,
                )
            cloud.delete(f"/routers/{self.router['id']}")
        if "net" in made:
            cloud.delete(f"/networks/{self.net['id']}")
        cloud.delete(f"/networks/{self.public['id']}")


@pytest.fixture
def topo(fresh: Cloud) -> Iterator[Topology]:
    topo = Topology(fresh, "10.62.0.0/24")
    yield topo
    fresh.destroy_namespaces()
    topo.teardown()


def test_snat_floating_ip_and_security_groups(
    topo: Topology, request: pytest.FixtureRequest
) -> None:
    cloud, guest, outside = topo.cloud, topo.guest, topo.outside
    ns = cloud.opts.router_namespace_prefix + topo.router["id"]
    # SNAT: the outside host sees the router's external address
    outside.serve_tcp(7000)
    assert guest.eventually_pings("203.0.113.1"), cloud.plane.l3 and ns
    assert guest.tcp("203.0.113.1", 7000, "out") == f"{topo.gw_ip} out"
    # a floating IP: reachable only once the security group lets it
    guest.serve_tcp(8000)
    fip = cloud.create("floatingip", floating_network_id=topo.public["id"], port_id=topo.port["id"])
    address = fip["floating_ip_address"]
    assert wait_for(lambda: cloud.get("floatingip", fip["id"])["status"] == "ACTIVE", 10)
    assert not outside.ping(address, wait=1), "the default group let ping in"
    group = topo.port["security_groups"][0]
    # the project's default group is the session's: the test's rules go when it does
    made: list[dict[str, str]] = []

    def remove_rules() -> None:
        for rule in made:
            cloud.delete(f"/security-group-rules/{rule['id']}")

    request.addfinalizer(remove_rules)
    started = time.monotonic()
    icmp = cloud.rule(
        group,
        protocol="icmp",
    )
    made.append(icmp)
    assert wait_for(lambda: "-p icmp" in cloud.ingress_rules(topo.port["id"]), 1.0, 0.01)
    assert time.monotonic() - started < 1.0, "the rule took more than a second"
    assert outside.eventually_pings(address, timeout=5, wait=0.2)
    assert outside.tcp(address, 8000, "in") is None
    web = cloud.rule(
        group,
        protocol="tcp",
        port_range_min=8000,
        port_range_max=8000,
    )
    made.append(web)
    assert wait_for(lambda: outside.tcp(address, 8000, "in") == "203.0.113.1 in", 5)
    # SNAT of the guest's own traffic now uses its floating IP
    assert guest.tcp("203.0.113.1", 7000, "via-fip") == f"{address} via-fip"
    started = time.monotonic()
    cloud.delete(f"/security-group-rules/{icmp['id']}")
    made.remove(icmp)
    assert wait_for(lambda: "-p icmp" not in cloud.ingress_rules(topo.port["id"]), 1.0, 0.01)
    assert time.monotonic() - started < 1.0, "the removal took more than a second"
    assert not outside.ping(address, wait=0.5)
    # disassociating the floating IP cuts it
    cloud.call("PUT", f"/floatingips/{fip['id']}", {"floatingip": {"port_id": None}}, expect=200)
    assert wait_for(lambda: outside.tcp(address, 8000, "gone") is None, 5)
    assert wait_for(lambda: cloud.get("floatingip", fip["id"])["status"] == "DOWN", 5)
    assert guest.tcp("203.0.113.1", 7000, "back") == f"{topo.gw_ip} back"


def test_floating_ip_hairpin(topo: Topology) -> None:
    """A neighbour on the guest's own network reaches the guest by its floating IP."""
    cloud, guest = topo.cloud, topo.guest
    port = cloud.server_port(topo.net["id"])
    group = cloud.create("security_group", path="security-groups", name=f"{cloud.tag}-hairpin")
    try:
        neighbour = cloud.guest(port)
        assert cloud.wait_active(port["id"])
        neighbour.static(f"{neighbour.fixed_ip}/24", topo.subnet["gateway_ip"])
        cloud.rule(
            group["id"],
            protocol="tcp",
            port_range_min=8001,
            port_range_max=8001,
        )
        groups = [*topo.port["security_groups"], group["id"]]
        cloud.update_port(topo.port["id"], security_groups=groups)
        guest.serve_tcp(8001)
        fip = cloud.create(
            "floatingip", floating_network_id=topo.public["id"], port_id=topo.port["id"]
        )
        address = fip["floating_ip_address"]
        assert wait_for(lambda: cloud.get("floatingip", fip["id"])["status"] == "ACTIVE", 10)
        # the answer must come back through the router: the guest sees the gateway address
        assert wait_for(lambda: neighbour.tcp(address, 8001, "hairpin") is not None, 5)
        assert neighbour.tcp(address, 8001, "hairpin") == f"{topo.gw_ip} hairpin"
        # the outside still sees itself (no hairpin SNAT for traffic from the gateway)
        assert topo.outside.tcp(address, 8001, "in") == "203.0.113.1 in"
    finally:
        cloud.update_port(topo.port["id"], admin=True, security_groups=topo.port["security_groups"])
        cloud.delete(f"/ports/{port['id']}")
        cloud.delete(f"/security-groups/{group['id']}", admin=False)


def test_extra_routes(topo: Topology) -> None:
    """A router's extra route sends a prefix to a guest that owns it."""
    cloud, guest = topo.cloud, topo.guest
    ns = cloud.opts.router_namespace_prefix + topo.router["id"]
    port = cloud.server_port(topo.net["id"], allowed_address_pairs=[{"ip_address": "10.99.0.0/24"}])
    try:
        hop = cloud.guest(port)
        assert cloud.wait_active(port["id"])
        hop.static(f"{hop.fixed_ip}/24", topo.subnet["gateway_ip"])
        hop.sh("ip", "addr", "add", "10.99.0.1/32", "dev", "lo")
        assert guest.eventually_pings(hop.fixed_ip)
        assert not guest.ping("10.99.0.1", wait=0.5)
        routes = [{"destination": "10.99.0.0/24", "nexthop": hop.fixed_ip}]
        path = f"/routers/{topo.router['id']}"
        cloud.call("PUT", path, {"router": {"routes": routes}}, expect=200)
        assert guest.eventually_pings("10.99.0.1", timeout=5)
        static = in_ns(ns, "ip", "route", "show", "proto", "static")
        assert static.split() == ["10.99.0.0/24", "via", hop.fixed_ip, "dev", static.split()[4]]
        cloud.call("PUT", path, {"router": {"routes": []}}, expect=200)
        assert wait_for(lambda: not in_ns(ns, "ip", "route", "show", "proto", "static"), 5)
        assert not guest.ping("10.99.0.1", wait=0.5)
    finally:
        cloud.call("PUT", f"/routers/{topo.router['id']}", {"router": {"routes": []}}, admin=True)
        cloud.delete(f"/ports/{port['id']}")


def test_admin_down_router_keeps_its_ports_but_forwards_nothing(topo: Topology) -> None:
    cloud, guest = topo.cloud, topo.guest
    path = f"/routers/{topo.router['id']}"
    assert guest.eventually_pings("203.0.113.1")
    cloud.call("PUT", path, {"router": {"admin_state_up": False}}, expect=200)
    assert wait_for(lambda: not guest.ping(topo.subnet["gateway_ip"], wait=0.3), 5)
    assert not guest.ping("203.0.113.1", wait=0.5)
    ports = cloud.call("GET", f"/ports?device_id={topo.router['id']}", admin=True)["ports"]
    assert len(ports) == 2 and {p["status"] for p in ports} == {"ACTIVE"}, ports
    cloud.call("PUT", path, {"router": {"admin_state_up": True}}, expect=200)
    assert guest.eventually_pings("203.0.113.1", timeout=10)


def test_metadata_through_the_router(topo: Topology) -> None:
    cloud, guest = topo.cloud, topo.guest
    fake = FakeMetadata()
    try:
        cloud.set_metadata_url(fake.url)

        def fetch() -> str:
            return guest.sh(
                "busybox",
                "wget",
                "-q",
                "-O",
                "-",
                "http://169.254.169.254/openstack/latest/meta_data.json",
                check=False,
            )

        body = wait_for(fetch, 10, 0.2)
        assert json.loads(body) == {
            "path": "/openstack/latest/meta_data.json",
            "instance": topo.port["device_id"],
        }
        headers = fake.seen[-1]
        assert headers["x-instance-id"] == topo.port["device_id"]
        assert headers["x-tenant-id"] == cloud.project
        assert headers["x-forwarded-for"] == guest.fixed_ip
        expected = hmac.new(b"s3cret", topo.port["device_id"].encode(), hashlib.sha256)
        assert headers["x-instance-id-signature"] == expected.hexdigest()
    finally:
        fake.close()
