"""Anti-spoofing and security group details on one tenant network."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.network_dataplane.conftest import Cloud, has_dnsmasq
from tests.network_dataplane.support import Guest, run, wait_for
from tinystack.network.agents import arp_protect

#: a cloud, the guests' network and two guests on it
Pair = tuple[Cloud, dict[str, Any], list[Guest]]


@pytest.fixture
def pair(fresh: Cloud) -> Iterator[Pair]:
    cloud = fresh
    net, subnet = cloud.network("10.64.0.0/24")
    ports = [cloud.server_port(net["id"]) for _ in range(2)]
    guests = [cloud.guest(p) for p in ports]
    for guest in guests:
        assert cloud.wait_active(guest.port["id"])
        guest.static(f"{guest.fixed_ip}/24", subnet["gateway_ip"])
    assert guests[0].eventually_pings(guests[1].fixed_ip)
    yield cloud, net, guests
    cloud.destroy_namespaces()
    for port in ports:
        cloud.delete(f"/ports/{port['id']}")
    cloud.delete(f"/networks/{net['id']}")


def test_spoofed_source_address_and_mac_are_dropped(pair: Pair) -> None:
    cloud, _net, (a, b) = pair
    spoofed = "10.64.0.250"
    a.sh("ip", "addr", "flush", "dev", "eth0")
    a.sh("ip", "addr", "add", f"{spoofed}/24", "dev", "eth0")
    assert not a.ping(b.fixed_ip), "a spoofed source address got through"
    # allowing the address on the port (allowed_address_pairs) lets it through
    cloud.update_port(a.port["id"], admin=True, allowed_address_pairs=[{"ip_address": spoofed}])
    assert a.eventually_pings(b.fixed_ip, timeout=5)
    cloud.update_port(a.port["id"], admin=True, allowed_address_pairs=[])
    assert wait_for(lambda: not a.ping(b.fixed_ip, wait=0.3), 5)
    a.sh("ip", "addr", "flush", "dev", "eth0")
    a.sh("ip", "addr", "add", f"{a.fixed_ip}/24", "dev", "eth0")
    assert a.eventually_pings(b.fixed_ip)
    # a spoofed MAC with the right address is dropped too
    a.sh("ip", "link", "set", "eth0", "address", "fa:16:3e:00:00:01")
    a.sh("ip", "neigh", "flush", "all")
    b.sh("ip", "neigh", "flush", "all")
    assert not a.ping(b.fixed_ip, count=2)
    a.sh("ip", "link", "set", "eth0", "address", a.port["mac_address"])
    assert a.eventually_pings(b.fixed_ip)


def test_rogue_dhcp_server_in_a_guest_is_blocked(pair: Pair, tmp_path: Path) -> None:
    cloud, net, (a, _b) = pair
    conf, leases = tmp_path / "udhcpd.conf", tmp_path / "udhcpd.leases"
    conf.write_text(
        "start 10.64.0.200\nend 10.64.0.210\ninterface eth0\n"
        f"lease_file {leases}\noption subnet 255.255.255.0\n"
    )
    leases.touch()
    a.spawn("busybox", "udhcpd", "-f", str(conf))
    port = cloud.server_port(net["id"])
    victim = cloud.guest(port)
    assert cloud.wait_active(port["id"])
    lease = victim.dhcp(timeout=4)
    if has_dnsmasq():
        assert lease.get("ip") == victim.fixed_ip, lease
    else:
        assert lease == {}, f"the rogue DHCP server answered: {lease}"
    cloud.destroy_namespaces_of([victim])
    cloud.delete(f"/ports/{port['id']}")


def test_remote_group_membership(pair: Pair) -> None:
    cloud, net, (a, b) = pair
    # b in a group of its own that only admits members of a third group
    other = cloud.create("security_group", path="security-groups", name=f"{cloud.tag}-other")
    friends = cloud.create("security_group", path="security-groups", name=f"{cloud.tag}-friends")
    cloud.rule(
        other["id"],
        protocol="icmp",
        remote_group_id=friends["id"],
    )
    cloud.update_port(b.port["id"], admin=True, security_groups=[other["id"]])
    assert wait_for(lambda: not a.ping(b.fixed_ip, wait=0.3), 5)
    # a joins "friends": it may ping b again
    groups = a.port["security_groups"] + [friends["id"]]
    cloud.update_port(a.port["id"], admin=True, security_groups=groups)
    assert a.eventually_pings(b.fixed_ip, timeout=5)
    cloud.update_port(a.port["id"], admin=True, security_groups=a.port["security_groups"])
    cloud.update_port(b.port["id"], admin=True, security_groups=b.port["security_groups"])
    cloud.delete(f"/security-groups/{other['id']}", admin=False)
    cloud.delete(f"/security-groups/{friends['id']}", admin=False)


#: answers every line of a connection with ``<peer address> <line>``
LINE_SERVER = textwrap.dedent(
    """\
    import socket, socketserver, struct, sys
    class H(socketserver.StreamRequestHandler):
        def handle(self):
            # killed, it resets the connection: no orphan socket keeps the namespace alive
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            for line in self.rfile:
                reply = f"{self.client_address[0]} {line.decode().strip()}\\n"
                self.wfile.write(reply.encode())
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer(("0.0.0.0", int(sys.argv[1])), H).serve_forever()
    """
)

#: holds one TCP connection; sends each stdin line over it and prints the answer
HELD_CLIENT = textwrap.dedent(
    """\
    import socket, struct, sys
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
    # killed with a line unanswered, it resets the connection rather than retrying it for
    # minutes from an orphan socket that keeps the guest's namespace (and tap) alive
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.settimeout(float(sys.argv[3]))
    for line in sys.stdin:
        try:
            s.sendall(line.encode())
            print(s.recv(200).decode().strip() or "closed", flush=True)
        except OSError:
            print("timeout", flush=True)
    """
)


def tracked(address: str, port: int) -> list[str]:
    """Connection tracking entries to ``address:port`` (any zone)."""
    from pyroute2 import Conntrack

    with Conntrack() as ct:
        return [
            str(e.tuple_orig)
            for e in ct.dump_entries()
            if e.tuple_orig.daddr == address and e.tuple_orig.dport == port
        ]


def test_removing_a_rule_ends_the_connections_it_allowed(
    pair: Pair,
) -> None:
    cloud, _net, (a, b) = pair
    group = cloud.create("security_group", path="security-groups", name=f"{cloud.tag}-held")

    def rule(**body: Any) -> str:
        made = cloud.rule(
            group["id"],
            **body,
        )
        return str(made["id"])

    tcp = rule(protocol="tcp", port_range_min=5000, port_range_max=5000)
    icmp = rule(protocol="icmp")
    cloud.update_port(b.port["id"], security_groups=[group["id"]])
    assert wait_for(lambda: "--dport 5000" in cloud.ingress_rules(b.port["id"]), 5)
    b.spawn(sys.executable, "-c", LINE_SERVER, "5000")
    assert wait_for(lambda: a.tcp(b.fixed_ip, 5000, "probe") is not None, 10)
    client = subprocess.Popen(
        ["ip", "netns", "exec", a.name, sys.executable, "-c", HELD_CLIENT, b.fixed_ip, "5000", "2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    a.procs.append(client)  # type: ignore[arg-type]
    assert client.stdin is not None and client.stdout is not None

    def exchange(text: str) -> str:
        assert client.stdin is not None and client.stdout is not None
        client.stdin.write(text + "\n")
        client.stdin.flush()
        return client.stdout.readline().strip()

    try:
        assert exchange("one") == f"{a.fixed_ip} one"
        # another rule goes: the connection it did not carry lives on (tracked anew)
        cloud.delete(f"/security-group-rules/{icmp}", admin=False)
        assert wait_for(lambda: "icmp" not in cloud.ingress_rules(b.port["id"]), 5)
        assert not a.ping(b.fixed_ip, wait=0.5)
        assert exchange("two") == f"{a.fixed_ip} two"
        # the rule that allowed it goes: the established connection ends with it
        cloud.delete(f"/security-group-rules/{tcp}", admin=False)
        assert wait_for(lambda: "5000" not in cloud.ingress_rules(b.port["id"]), 5)
        # the agent deletes the tracked connections right after it changed the rules
        assert wait_for(lambda: not tracked(b.fixed_ip, 5000), 5)
        assert exchange("three") == "timeout", "an established connection outlived its rule"
        assert a.tcp(b.fixed_ip, 5000, "new") is None
    finally:
        client.kill()
        client.wait()
        cloud.update_port(b.port["id"], admin=True, security_groups=b.port["security_groups"])
        cloud.delete(f"/security-groups/{group['id']}", admin=False)


#: sends ARP replies "<claimed IP> is at <my MAC>" to a neighbour, from eth0
ARP_CLAIM = textwrap.dedent(
    """\
    import socket, struct, sys, time
    claimed, to_mac, to_ip, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind(("eth0", 0))
    mine = bytes.fromhex(open("/sys/class/net/eth0/address").read().strip().replace(":", ""))
    theirs = bytes.fromhex(to_mac.replace(":", ""))
    arp = struct.pack(
        "!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2,
        mine, socket.inet_aton(claimed), theirs, socket.inet_aton(to_ip),
    )
    for _ in range(count):
        s.send(theirs + mine + struct.pack("!H", 0x0806) + arp)
        time.sleep(0.1)
    """
)


def neighbour_mac(guest: Guest, address: str) -> str | None:
    entries = json.loads(guest.sh("ip", "-j", "neigh", "show", address, "dev", "eth0") or "[]")
    return next((str(e["lladdr"]) for e in entries if e.get("lladdr")), None)


@pytest.mark.skipif(not arp_protect.available(), reason="nft (package nftables) missing")
def test_a_guest_cannot_answer_arp_for_another_address(
    pair: Pair,
) -> None:
    cloud, net, (a, b) = pair
    port = cloud.server_port(net["id"])
    try:
        c = cloud.guest(port)
        assert cloud.wait_active(port["id"])
        c.static(f"{c.fixed_ip}/24", None)
        assert b.eventually_pings(c.fixed_ip)
        assert neighbour_mac(b, c.fixed_ip) == port["mac_address"]

        def claim() -> str | None:
            time.sleep(1.1)  # past the neighbour entry's locktime
            a.sh(
                sys.executable, "-c", ARP_CLAIM, c.fixed_ip, b.port["mac_address"], b.fixed_ip, "5"
            )
            return neighbour_mac(b, c.fixed_ip)

        assert claim() == port["mac_address"], "a guest's ARP reply for another address got through"
        assert b.ping(c.fixed_ip)
        # control: without port security the same replies take c's address over
        cloud.update_port(a.port["id"], admin=True, security_groups=[], port_security_enabled=False)
        table = arp_protect.table_name(cloud.chain_prefix)
        assert wait_for(
            lambda: a.port["id"][:11] not in run(["nft", "list", "table", "bridge", table]), 5
        )
        assert wait_for(lambda: claim() == a.port["mac_address"], 5, 0), "the claim itself failed"
    finally:
        cloud.destroy_namespaces()
        cloud.delete(f"/ports/{port['id']}")


def test_stateless_groups_need_rules_for_replies(pair: Pair) -> None:
    cloud, _net, (a, b) = pair
    made: list[str] = []

    def group(stateful: bool) -> str:
        sg = cloud.create(
            "security_group",
            path="security-groups",
            name=f"{cloud.tag}-{'stateful' if stateful else 'stateless'}",
            stateful=stateful,
        )
        made.append(sg["id"])
        cloud.rule(
            sg["id"],
            protocol="tcp",
            port_range_min=5000,
            port_range_max=5000,
        )
        return str(sg["id"])

    def use(group_id: str) -> None:
        for guest in (a, b):
            cloud.update_port(guest.port["id"], security_groups=[group_id])

    try:
        stateful, stateless = group(True), group(False)
        b.spawn(sys.executable, "-c", LINE_SERVER, "5000")
        # stateful: the ingress rule on b is enough, b's answers are tracked replies
        use(stateful)
        assert wait_for(lambda: a.tcp(b.fixed_ip, 5000, "tracked") is not None, 10)
        # stateless: the same rule lets a's packets in, but b's answers need a rule at a
        use(stateless)
        assert wait_for(lambda: "ESTABLISHED" not in cloud.ingress_rules(a.port["id"]), 5)
        assert a.tcp(b.fixed_ip, 5000, "untracked") is None
        cloud.rule(
            stateless,
            protocol="tcp",
            remote_ip_prefix=f"{b.fixed_ip}/32",
        )
        assert wait_for(lambda: a.tcp(b.fixed_ip, 5000, "untracked") is not None, 5)
        before = len(tracked(b.fixed_ip, 5000))
        assert a.tcp(b.fixed_ip, 5000, "again") is not None
        assert len(tracked(b.fixed_ip, 5000)) == before, "a stateless flow was tracked"
    finally:
        for guest in (a, b):
            cloud.update_port(
                guest.port["id"], admin=True, security_groups=guest.port["security_groups"]
            )
        for group_id in made:
            cloud.delete(f"/security-groups/{group_id}", admin=False)
