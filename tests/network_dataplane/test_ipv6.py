"""IPv6: router advertisements (radvd), DHCPv6 (dnsmasq) and the IPv6 firewall rules.

Fake guests are namespaces; a small DHCPv6 client (standard library, run inside the
guest's namespace) stands in for busybox ``udhcpc6``, which Debian's busybox lacks.
"""

from __future__ import annotations

import json
import sys
import textwrap
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.network_dataplane.conftest import Cloud, has_dnsmasq
from tests.network_dataplane.support import Guest, in_ns, wait_for
from tinystack.network.agents import ip_lib, radvd

needs_radvd = pytest.mark.skipif(not radvd.available(), reason="radvd (package radvd) missing")
needs_dnsmasq = pytest.mark.skipif(not has_dnsmasq(), reason="dnsmasq (dnsmasq-base) missing")

#: a DHCPv6 client: ``stateful`` (Solicit/Advertise/Request/Reply: prints the address)
#: or ``info`` (Information-request: prints the DNS servers), as JSON
DHCP6_CLIENT = textwrap.dedent(
    """\
    import json, os, socket, struct, sys, time
    iface, mode = "eth0", sys.argv[1]
    mac = bytes.fromhex(open(f"/sys/class/net/{iface}/address").read().strip().replace(":", ""))
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
    s.bind(("::", 546))
    s.settimeout(0.5)
    dst = ("ff02::1:2", 547, 0, socket.if_nametoindex(iface))

    def opt(code, data):
        return struct.pack("!HH", code, len(data)) + data

    def parse(data):
        out, i = {}, 0
        while i + 4 <= len(data):
            code, size = struct.unpack_from("!HH", data, i)
            out.setdefault(code, []).append(data[i + 4 : i + 4 + size])
            i += 4 + size
        return out

    def exchange(kind, options, want, accept=lambda got: True):
        xid = os.urandom(3)
        msg = bytes([kind]) + xid + b"".join(options)
        deadline = time.monotonic() + float(sys.argv[2])
        while time.monotonic() < deadline:
            try:
                s.sendto(msg, dst)
            except OSError:
                time.sleep(0.2)
                continue
            try:
                while True:
                    data, _ = s.recvfrom(4096)
                    if data[0] == want and data[1:4] == xid and accept(parse(data[4:])):
                        return parse(data[4:])
            except TimeoutError:
                continue
        print(json.dumps({}))
        sys.exit(0)

    client = opt(1, struct.pack("!HH", 3, 1) + mac)  # DUID-LL
    elapsed, oro = opt(8, b"\\0\\0"), opt(6, struct.pack("!H", 23))
    if mode == "info":
        got = exchange(11, [client, elapsed, oro], 7)
        raw = b"".join(got.get(23, []))
        dns = [socket.inet_ntop(socket.AF_INET6, raw[i : i + 16]) for i in range(0, len(raw), 16)]
        print(json.dumps({"dns": dns}))
    else:
        ia = opt(3, b"\\0\\0\\0\\1" + b"\\0" * 8)
        # an Advertise without addresses (NoAddrsAvail) is ignored, as RFC 8415 says
        adv = exchange(1, [client, elapsed, ia, oro], 2, lambda got: 3 in got)
        reply = exchange(3, [client, opt(2, adv[2][0]), elapsed, opt(3, adv[3][0]), oro], 7)
        sub = parse(reply[3][0][12:]) if 3 in reply else {}
        addr = [socket.inet_ntop(socket.AF_INET6, a[:16]) for a in sub.get(5, [])]
        print(json.dumps({"addresses": addr}))
    """
)

#: sends one router advertisement for ``prefix`` to ff02::1 from eth0
ROGUE_RA = textwrap.dedent(
    """\
    import ipaddress, socket, struct, sys
    prefix = ipaddress.ip_network(sys.argv[1])
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
    ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
    pio = struct.pack("!BBBBIII", 3, 4, 64, 0xC0, 86400, 14400, 0) + prefix.network_address.packed
    for _ in range(int(sys.argv[2])):
        s.sendto(ra + pio, ("ff02::1", 0, 0, socket.if_nametoindex("eth0")))
    """
)


def sysctl(guest: Guest, key: str, value: str) -> None:
    guest.sh("sh", "-c", f"echo {value} > /proc/sys/net/ipv6/conf/{key}")


def ipv6_guest(guest: Guest, accept_ra: int = 2) -> None:
    """IPv6 on the guest's eth0 as a cloud image has it: EUI-64 addresses, no privacy
    addresses, accepting RAs (no DAD, to keep the tests fast); the link is flapped so
    that it solicits a router at once."""
    for key, value in (
        ("accept_dad", "0"),
        ("addr_gen_mode", "0"),
        ("use_tempaddr", "0"),
        ("autoconf", "1"),
        ("accept_ra", str(accept_ra)),
        ("router_solicitation_interval", "1"),
    ):
        sysctl(guest, f"eth0/{key}", value)
    guest.sh("ip", "link", "set", "eth0", "down")
    guest.sh("ip", "link", "set", "eth0", "up")


def global_v6(guest: Guest) -> set[str]:
    out = guest.sh("ip", "-6", "-j", "addr", "show", "dev", "eth0", "scope", "global")
    infos = [a for link in json.loads(out or "[]") for a in link.get("addr_info", [])]
    return {a["local"] for a in infos if "local" in a}


def _has_only(guest: Guest, addresses: set[str]) -> bool:
    return global_v6(guest) == addresses


def default_v6(guest: Guest) -> list[dict[str, Any]]:
    return list(json.loads(guest.sh("ip", "-6", "-j", "route", "show", "default") or "[]"))


def v6_of(port: dict[str, Any]) -> str:
    return str(next(ip["ip_address"] for ip in port["fixed_ips"] if ":" in ip["ip_address"]))


def dhcp6(guest: Guest, mode: str, timeout: float = 10) -> dict[str, Any]:
    out = guest.sh(sys.executable, "-c", DHCP6_CLIENT, mode, str(timeout), timeout=timeout + 20)
    return dict(json.loads(out.strip().splitlines()[-1]))


class DualStack:
    """A network with an IPv4 and an IPv6 subnet (``mode``), both on one router."""

    def __init__(
        self,
        cloud: Cloud,
        n: int,
        mode: str | None,
        router: bool = True,
        dns: list[str] | None = None,
    ) -> None:
        self.cloud = cloud
        self.net = cloud.create("network", name=f"{cloud.tag}-v6net")
        self.v4 = cloud.create(
            "subnet", network_id=self.net["id"], cidr=f"10.{n}.0.0/24", ip_version=4
        )
        if has_dnsmasq():  # the DHCP port exists before the IPv6 subnet: it gets added
            assert wait_for(lambda: self.dhcp_ports(), 10)
        modes: dict[str, Any] = {"ipv6_ra_mode": mode, "ipv6_address_mode": mode} if mode else {}
        self.v6 = cloud.create(
            "subnet",
            network_id=self.net["id"],
            cidr=f"fd00:{n}::/64",
            ip_version=6,
            dns_nameservers=dns or [],
            **modes,
        )
        self.router: dict[str, Any] | None = None
        if router:
            self.router = cloud.create("router", name=f"{cloud.tag}-v6r")
            for subnet in (self.v4, self.v6):
                cloud.call(
                    "PUT",
                    f"/routers/{self.router['id']}/add_router_interface",
                    {"subnet_id": subnet["id"]},
                    expect=200,
                )
        self.ports: list[dict[str, Any]] = []
        self.interfaces = [self.v4, self.v6] if router else []

    def remove_interface(self, subnet: dict[str, Any]) -> None:
        assert self.router is not None
        self.cloud.call(
            "PUT",
            f"/routers/{self.router['id']}/remove_router_interface",
            {"subnet_id": subnet["id"]},
            admin=True,
            expect=200,
        )
        self.interfaces.remove(subnet)

    def dhcp_ports(self) -> list[dict[str, Any]]:
        path = f"/ports?network_id={self.net['id']}&device_owner=network:dhcp"
        return list(self.cloud.call("GET", path, admin=True, expect=200)["ports"])

    @property
    def router_ns(self) -> str:
        assert self.router is not None
        return str(self.cloud.opts.router_namespace_prefix) + str(self.router["id"])

    @property
    def radvd_conf(self) -> Path:
        assert self.router is not None
        return self.cloud.plane.ctx.state_dir / "l3" / str(self.router["id"]) / "radvd.conf"

    def router_port(self) -> dict[str, Any]:
        assert self.router is not None
        ports = self.cloud.call(
            "GET", f"/ports?device_id={self.router['id']}", admin=True, expect=200
        )["ports"]
        return next(p for p in ports if any(":" in ip["ip_address"] for ip in p["fixed_ips"]))

    def guest(self, accept_ra: int = 2) -> Guest:
        port = self.cloud.server_port(self.net["id"])
        self.ports.append(port)
        guest = self.cloud.guest(port)
        assert self.cloud.wait_active(port["id"])
        ipv6_guest(guest, accept_ra)
        return guest

    def teardown(self) -> None:
        cloud = self.cloud
        cloud.destroy_namespaces()
        for port in self.ports:
            cloud.delete(f"/ports/{port['id']}")
        if self.router is not None:
            for subnet in list(self.interfaces):
                self.remove_interface(subnet)
            cloud.delete(f"/routers/{self.router['id']}")
        cloud.delete(f"/networks/{self.net['id']}")


@pytest.fixture
def stack(fresh: Cloud) -> Iterator[list[DualStack]]:
    made: list[DualStack] = []
    yield made
    for item in made:
        item.teardown()


def diagnose(topo: DualStack, guest: Guest) -> str:
    """What a failed router-advertisement wait shows: radvd's log, the router's and the
    guest's IPv6 state."""
    log = topo.radvd_conf.with_name("radvd.log")
    return "\n".join(
        [
            f"guest addresses: {global_v6(guest)}",
            "guest: " + guest.sh("ip", "-6", "addr", "show", "dev", "eth0"),
            "router: " + in_ns(topo.router_ns, "ip", "-6", "addr", check=False),
            "radvd.log: " + (log.read_text() if log.exists() else "(none)"),
        ]
    )


def radvd_conf(topo: DualStack) -> str:
    assert wait_for(topo.radvd_conf.exists, 10), "no radvd.conf"
    return topo.radvd_conf.read_text()


@needs_radvd
def test_slaac_guest_gets_its_eui64_address_and_default_route(
    fresh: Cloud, stack: list[DualStack]
) -> None:
    started = time.monotonic()
    topo = DualStack(fresh, 71, "slaac")
    stack.append(topo)
    conf = radvd_conf(topo)
    assert "prefix fd00:71::/64" in conf and "AdvAutonomous on;" in conf, conf
    assert "AdvManagedFlag off;" in conf and "AdvOtherConfigFlag off;" in conf, conf
    assert "AdvDefaultLifetime 0;" not in conf
    assert in_ns(topo.router_ns, "cat", "/proc/sys/net/ipv6/conf/all/forwarding").strip() == "1"
    a, b = topo.guest(), topo.guest()
    for guest in (a, b):
        want = {v6_of(guest.port)}
        assert wait_for(partial(_has_only, guest, want), 15, 0.2), (global_v6(guest), want)
    # the default route is the router's link-local address on the qr- interface
    rport = topo.router_port()
    qr = "qr-" + rport["id"][:11]
    out = in_ns(topo.router_ns, "ip", "-6", "-j", "addr", "show", "dev", qr, "scope", "link")
    router_ll = {i.get("local") for link in json.loads(out) for i in link["addr_info"]}
    routes = default_v6(a)
    assert routes and routes[0].get("gateway") in router_ll, (routes, router_ll)
    assert routes[0].get("dev") == "eth0"
    assert a.eventually_pings(topo.v6["gateway_ip"]), "the router's v6 gateway"
    assert a.eventually_pings(v6_of(b.port)), "the other guest over IPv6"
    for guest in (a, b):
        guest.static(f"{guest.fixed_ip}/24", None)
    assert b.eventually_pings(a.fixed_ip), "IPv4 still works beside"
    # without an IPv6 interface the router's radvd stops
    pid = ip_lib.read_pid(topo.radvd_conf.with_name("radvd.pid"))
    assert pid is not None and ip_lib.pid_alive(pid, "radvd")
    topo.remove_interface(topo.v6)
    assert wait_for(lambda: not ip_lib.pid_alive(pid, "radvd"), 10)
    # the agent removes the config right after the process is gone
    assert wait_for(lambda: not topo.radvd_conf.exists(), 5)
    assert time.monotonic() - started < 30


@needs_radvd
@needs_dnsmasq
def test_dhcpv6_stateful_guest_gets_its_fixed_address(fresh: Cloud, stack: list[DualStack]) -> None:
    started = time.monotonic()
    topo = DualStack(fresh, 72, "dhcpv6-stateful")
    stack.append(topo)
    conf = radvd_conf(topo)
    assert "prefix fd00:72::/64" in conf and "AdvAutonomous off;" in conf, conf
    assert "AdvManagedFlag on;" in conf and "AdvOtherConfigFlag on;" in conf, conf
    guest = topo.guest()
    want = v6_of(guest.port)
    directory = fresh.plane.ctx.state_dir / "dhcp" / topo.net["id"]
    line = f"{guest.port['mac_address']},[{want}],host-{want.replace(':', '-')}"
    assert wait_for(lambda: line in (directory / "host").read_text(), 10)
    cmdline = (directory / "cmdline").read_text().split("\0")
    assert f"--dhcp-range=set:subnet-{topo.v6['id']},fd00:72::,static,64,86400s" in cmdline
    assert not any("enable-ra" in arg for arg in cmdline)
    # the DHCP port holds its address on the stateful subnet
    dhcp_ns = str(fresh.opts.dhcp_namespace_prefix) + topo.net["id"]
    assert wait_for(
        lambda: any(":" in ip["ip_address"] for ip in topo.dhcp_ports()[0]["fixed_ips"])
    )
    dhcp_v6 = v6_of(topo.dhcp_ports()[0])
    assert wait_for(lambda: dhcp_v6 in in_ns(dhcp_ns, "ip", "-6", "addr", "show", check=False))
    lease = dhcp6(guest, "stateful")
    assert lease.get("addresses") == [want], lease
    # the RA (A=0) gives a default route but no SLAAC address
    assert wait_for(lambda: default_v6(guest), 15, 0.2)
    assert global_v6(guest) == set()
    guest.sh("ip", "addr", "add", f"{want}/64", "dev", "eth0", "nodad")
    assert guest.eventually_pings(topo.v6["gateway_ip"])
    assert time.monotonic() - started < 30


@needs_radvd
@needs_dnsmasq
def test_dhcpv6_stateless_serves_options_and_slaac_addresses(
    fresh: Cloud, stack: list[DualStack]
) -> None:
    started = time.monotonic()
    topo = DualStack(fresh, 73, "dhcpv6-stateless", dns=["fd00:73::53"])
    stack.append(topo)
    conf = radvd_conf(topo)
    assert "AdvAutonomous on;" in conf and "AdvOtherConfigFlag on;" in conf, conf
    assert "AdvManagedFlag off;" in conf and "RDNSS fd00:73::53 {};" in conf, conf
    guest = topo.guest()
    directory = fresh.plane.ctx.state_dir / "dhcp" / topo.net["id"]
    assert wait_for(lambda: "option6:dns-server,[fd00:73::53]" in (directory / "opts").read_text())
    assert f"[{v6_of(guest.port)}]" not in (directory / "host").read_text()
    assert dhcp6(guest, "info").get("dns") == ["fd00:73::53"]
    assert dhcp6(guest, "stateful", timeout=3).get("addresses") in (None, [])
    want = v6_of(guest.port)
    assert wait_for(lambda: global_v6(guest) == {want}, 15, 0.2), diagnose(topo, guest)
    assert time.monotonic() - started < 30


def test_guest_cannot_advertise_routes_or_spoof_v6(fresh: Cloud, stack: list[DualStack]) -> None:
    started = time.monotonic()
    topo = DualStack(fresh, 74, "slaac", router=False)
    stack.append(topo)
    rogue, victim = topo.guest(), topo.guest()
    for guest in (rogue, victim):  # no router: the guests configure their addresses
        guest.sh("ip", "addr", "add", f"{v6_of(guest.port)}/64", "dev", "eth0", "nodad")
    assert rogue.eventually_pings(v6_of(victim.port))

    def advertise() -> bool:
        rogue.sh(sys.executable, "-c", ROGUE_RA, "fd00:99::/64", "3")
        return any(a.startswith("fd00:99:") for a in global_v6(victim))

    assert not wait_for(advertise, 2, 0.3, patience=1), "a guest's router advertisement got through"
    assert not default_v6(victim)
    # a spoofed IPv6 source is dropped; allowing it as an address pair lets it through
    spoofed = "fd00:74::bad"
    rogue.sh("ip", "-6", "addr", "flush", "dev", "eth0", "scope", "global")
    rogue.sh("ip", "addr", "add", f"{spoofed}/64", "dev", "eth0", "nodad")
    assert not rogue.ping(v6_of(victim.port)), "a spoofed IPv6 source got through"
    fresh.call(
        "PUT",
        f"/ports/{rogue.port['id']}",
        {"port": {"allowed_address_pairs": [{"ip_address": spoofed}]}},
        admin=True,
        expect=200,
    )
    assert rogue.eventually_pings(v6_of(victim.port), timeout=5)
    # control: without port security the same advertisement is accepted
    fresh.call(
        "PUT",
        f"/ports/{rogue.port['id']}",
        {
            "port": {
                "security_groups": [],
                "allowed_address_pairs": [],
                "port_security_enabled": False,
            }
        },
        admin=True,
        expect=200,
    )
    assert wait_for(advertise, 5, 0.3), "the advertisement itself does not work"
    assert time.monotonic() - started < 30


@needs_radvd
def test_ipv6_extra_routes(fresh: Cloud, stack: list[DualStack]) -> None:
    topo = DualStack(fresh, 75, "slaac")
    stack.append(topo)
    hop, other = topo.guest(), topo.guest()
    for guest in (hop, other):
        ready = partial(_has_only, guest, {v6_of(guest.port)})
        assert wait_for(ready, 15, 0.2), diagnose(topo, guest)
    assert topo.router is not None
    path = f"/routers/{topo.router['id']}"
    nexthop = v6_of(hop.port)
    routes = [
        {"destination": "fd00:99::/64", "nexthop": nexthop},
        {"destination": "10.99.0.0/24", "nexthop": hop.fixed_ip},
    ]

    def static(version: str) -> list[str]:
        out = in_ns(topo.router_ns, "ip", version, "route", "show", "proto", "static")
        return out.split()[:3]

    try:
        fresh.call("PUT", path, {"router": {"routes": routes}}, admin=True, expect=200)
        assert wait_for(lambda: static("-6") == ["fd00:99::/64", "via", nexthop], 5)
        assert static("-4") == ["10.99.0.0/24", "via", hop.fixed_ip]
        # the prefix is routed to the guest holding an address in it
        hop.sh("ip", "addr", "add", "fd00:99::1/128", "dev", "lo")
        pairs = {"allowed_address_pairs": [{"ip_address": "fd00:99::/64"}]}
        fresh.call("PUT", f"/ports/{hop.port['id']}", {"port": pairs}, admin=True, expect=200)
        assert other.eventually_pings("fd00:99::1", timeout=10)
        fresh.call("PUT", path, {"router": {"routes": routes[1:]}}, admin=True, expect=200)
        assert wait_for(lambda: static("-6") == [], 5)
        assert static("-4") == ["10.99.0.0/24", "via", hop.fixed_ip]
        assert not other.ping("fd00:99::1", wait=0.5)
    finally:
        fresh.call("PUT", path, {"router": {"routes": []}}, admin=True, expect=200)
    assert wait_for(lambda: static("-4") == [], 5)


@needs_radvd
def test_ipv6_through_the_external_gateway(fresh: Cloud, stack: list[DualStack]) -> None:
    public, _ = fresh.public_network()
    try:
        fresh.create(
            "subnet",
            admin=True,
            network_id=public["id"],
            cidr="2001:db8:ee::/64",
            ip_version=6,
            gateway_ip="2001:db8:ee::1",
            enable_dhcp=False,
        )
        topo = DualStack(fresh, 76, "slaac")
        stack.append(topo)
        assert topo.router is not None
        gateway = {"external_gateway_info": {"network_id": public["id"]}}
        path = f"/routers/{topo.router['id']}"
        router = fresh.call("PUT", path, {"router": gateway}, admin=True, expect=200)["router"]
        fixed = router["external_gateway_info"]["external_fixed_ips"]
        qg_v6 = next(ip["ip_address"] for ip in fixed if ":" in ip["ip_address"])
        guest = topo.guest()
        want = {v6_of(guest.port)}
        assert wait_for(partial(_has_only, guest, want), 15, 0.2), diagnose(topo, guest)
        # the router's IPv6 default route leads to the external subnet's gateway
        default = partial(in_ns, topo.router_ns, "ip", "-6", "route", "show", "default")
        assert wait_for(lambda: "via 2001:db8:ee::1 " in default(), 5), default()
        # a host out there (routing the tenant prefix back to the router) is reached
        outside = fresh.outside_host()
        outside.sh("ip", "addr", "add", "2001:db8:ee::1/64", "dev", "eth0", "nodad")
        outside.sh("ip", "-6", "route", "add", "fd00:76::/64", "via", qg_v6)
        assert guest.eventually_pings("2001:db8:ee::1", timeout=10)
        fresh.call("PUT", path, {"router": {"external_gateway_info": {}}}, admin=True, expect=200)
        assert wait_for(lambda: not default().strip(), 5), default()
    finally:
        for topo in stack:
            topo.teardown()
        stack.clear()
        fresh.delete(f"/networks/{public['id']}")
