"""FWaaS v2 on a router port: real traffic from the outside host to a fake guest is
blocked by the firewall group, then allowed once an allow rule is inserted before the
deny rule (first match wins: inserted after it, it changes nothing); an agent restart
leaves the chains identical; an administratively down group drops everything. An
established connection ends, at once, with the rule that let it start (removed from the
policy or disabled), while one another rule allows lives on."""

from __future__ import annotations

import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.network_dataplane.conftest import Cloud
from tests.network_dataplane.support import in_ns, wait_for
from tests.network_dataplane.test_l3 import Topology


@pytest.fixture
def topo(fresh: Cloud) -> Iterator[Topology]:
    topo = Topology(fresh, "10.64.0.0/24")
    yield topo
    fresh.destroy_namespaces()
    for group in fresh.call("GET", "/fwaas/firewall_groups", admin=True)["firewall_groups"]:
        if group["ports"]:
            body: dict[str, Any] = {"firewall_group": {"ports": []}}
            fresh.call("PUT", f"/fwaas/firewall_groups/{group['id']}", body, admin=True)
    topo.teardown()


def _rule(cloud: Cloud, **body: Any) -> str:
    return str(cloud.create("firewall_rule", path="fwaas/firewall_rules", **body)["id"])


def _group(
    cloud: Cloud, name: str, ingress_rules: list[str], router_port: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A firewall group on ``router_port``: ``ingress_rules`` in, everything allowed out;
    (its ingress policy, the group as created)."""
    policies = "fwaas/firewall_policies"
    ingress = cloud.create("firewall_policy", path=policies, firewall_rules=ingress_rules)
    out = _rule(cloud, name="out", action="allow")
    egress = cloud.create("firewall_policy", path=policies, firewall_rules=[out])
    group = cloud.create(
        "firewall_group",
        path="fwaas/firewall_groups",
        name=name,
        ingress_firewall_policy_id=ingress["id"],
        egress_firewall_policy_id=egress["id"],
        ports=[router_port],
    )
    return ingress, group


def _status(cloud: Cloud, group_id: str) -> str:
    return str(cloud.call("GET", f"/fwaas/firewall_groups/{group_id}")["firewall_group"]["status"])


def _chains(ns: str) -> list[str]:
    """The firewall's lines of the router's filter tables (chains, rules, jumps)."""
    out = []
    for save in ("iptables-save", "ip6tables-save"):
        text = in_ns(ns, save, "-t", "filter")
        out += [line for line in text.splitlines() if "fwaas-" in line]
    return out


def test_firewall_group_blocks_then_allows_in_rule_order(
    topo: Topology, request: pytest.FixtureRequest
) -> None:
    cloud, guest, outside = topo.cloud, topo.guest, topo.outside
    ns = cloud.opts.router_namespace_prefix + topo.router["id"]
    guest.serve_tcp(8000)
    outside.serve_tcp(7000)
    # the project's default group is the session's: the rule goes when the test does
    sg_rule = cloud.rule(
        topo.port["security_groups"][0], protocol="tcp", port_range_min=8000, port_range_max=8000
    )
    request.addfinalizer(lambda: cloud.delete(f"/security-group-rules/{sg_rule['id']}"))
    fip = cloud.create("floatingip", floating_network_id=topo.public["id"], port_id=topo.port["id"])
    address = fip["floating_ip_address"]
    assert wait_for(lambda: outside.tcp(address, 8000, "open") == "203.0.113.1 open", 10)
    interface = cloud.call("GET", f"/ports?device_id={topo.router['id']}")["ports"]
    router_port = next(p["id"] for p in interface if p["device_owner"].endswith("interface"))
    deny = _rule(cloud, name="deny-web", protocol="tcp", destination_port="8000", action="deny")
    ingress, group = _group(cloud, "web", [deny], router_port)
    assert group["status"] == "PENDING_CREATE"
    assert wait_for(lambda: _status(cloud, group["id"]) == "ACTIVE", 10)
    # blocked from outside; the guest's own connections out still work (egress allows,
    # the answers are established)
    assert outside.tcp(address, 8000, "blocked") is None
    assert guest.tcp("203.0.113.1", 7000, "out") == f"{address} out"
    policy_url = f"/fwaas/firewall_policies/{ingress['id']}"
    # an allow rule after the deny rule: the deny rule matches first
    late = _rule(cloud, name="allow-late", protocol="tcp", destination_port="8000", action="allow")
    body = {"firewall_rule_id": late, "insert_after": deny}
    assert cloud.call("PUT", f"{policy_url}/insert_rule", body, expect=200)["firewall_rules"] == [
        deny,
        late,
    ]
    assert wait_for(lambda: _status(cloud, group["id"]) == "ACTIVE", 10)
    assert outside.tcp(address, 8000, "still") is None
    # one before it: allowed, within half a second of the API call on the data plane
    early = _rule(
        cloud, name="allow-early", protocol="tcp", destination_port="7999:8001", action="allow"
    )
    started = time.monotonic()
    body = {"firewall_rule_id": early, "insert_before": deny}
    cloud.call("PUT", f"{policy_url}/insert_rule", body, expect=200)
    chain = "fwaas-i" + router_port[:11]
    assert wait_for(lambda: "7999:8001" in in_ns(ns, "iptables-save", "-t", "filter"), 2, 0.01)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"the rule took {elapsed:.2f} s to reach the data plane"
    assert wait_for(lambda: outside.tcp(address, 8000, "in") == "203.0.113.1 in", 5)
    lines = _chains(ns)
    rules = [line for line in lines if line.startswith(f"-A {chain} ") and "--dport" in line]
    assert [r.split()[-1] for r in rules] == ["ACCEPT", "DROP", "ACCEPT"], rules
    assert "7999:8001" in rules[0]
    assert lines.count(f"-A FORWARD -o qr-{router_port[:11]} -j {chain}") == 2  # v4 and v6
    # an agent restart leaves the chains exactly as they were, not duplicated
    cloud.restart_agents()
    assert _chains(ns) == lines
    assert outside.tcp(address, 8000, "after") == "203.0.113.1 after"
    # administratively down: DOWN, and everything on the port is dropped
    url = f"/fwaas/firewall_groups/{group['id']}"
    cloud.call("PUT", url, {"firewall_group": {"admin_state_up": False}}, expect=200)
    assert wait_for(lambda: _status(cloud, group["id"]) == "DOWN", 10)
    assert outside.tcp(address, 8000, "down") is None
    # the port leaves the group: INACTIVE, no chains, traffic flows
    cloud.call("PUT", url, {"firewall_group": {"ports": []}}, expect=200)
    assert _status(cloud, group["id"]) == "INACTIVE"
    assert wait_for(lambda: not _chains(ns), 5, 0.02)
    assert outside.tcp(address, 8000, "free") == "203.0.113.1 free"


#: per connection to each port given: echoes every byte it receives as ``e`` and, on
#: its own, sends a ``t`` every 100 ms (so both ends of the guest's side keep talking).
#: Its sockets and the client's close with a reset (SO_LINGER 0): an ended connection's
#: socket, orphaned with unacknowledged bytes, would keep retransmitting for minutes and
#: hold its namespace (and the veth in it) alive after the test deleted it
STREAM_SERVER = textwrap.dedent(
    """\
    import socket, socketserver, struct, sys, threading, time
    class H(socketserver.BaseRequestHandler):
        def handle(self):
            sock = self.request
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            def tick():
                try:
                    while True:
                        sock.sendall(b"t")
                        time.sleep(0.1)
                except OSError:
                    pass
            threading.Thread(target=tick, daemon=True).start()
            while data := sock.recv(100):
                sock.sendall(b"e" * len(data))
    class S(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True
    servers = [S(("0.0.0.0", int(port)), H) for port in sys.argv[1:]]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    servers[0].serve_forever()
    """
)

#: holds one connection for ``seconds``: a byte every 100 ms, and a line ``<kind>
#: <time.time()>`` in the log for each kind of byte (``e``, ``t``) received
STREAM_CLIENT = textwrap.dedent(
    """\
    import select, socket, struct, sys, time
    address, port, log, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    sock = socket.create_connection((address, port), timeout=5)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.setblocking(False)
    end, next_send = time.time() + seconds, 0.0
    with open(log, "a", buffering=1) as out:
        while time.time() < end:
            try:
                if time.time() >= next_send:
                    sock.send(b"x")
                    next_send = time.time() + 0.1
                if select.select([sock], [], [], max(0.0, next_send - time.time()))[0]:
                    data = sock.recv(100)
                    if not data:
                        break
                    for kind in sorted(set(data.decode())):
                        out.write(f"{kind} {time.time()}\\n")
            except BlockingIOError:
                pass
            except OSError:
                break
        out.write(f"closed {time.time()}\\n")
    """
)

#: how long after the API call an ended connection may still carry a byte: twice issue
#: 17's 500 ms, as for the rule insertion above (benchmarks/fwaas.py measures the target;
#: here, typically under 100 ms, once 490 ms at load 11 on two cores)
EFFECTIVE = 1.0


def _events(log: Path) -> list[tuple[str, float]]:
    if not log.exists():
        return []
    lines = [line.split() for line in log.read_text().splitlines()]
    return [(kind, float(stamp)) for kind, stamp in lines if kind != "closed"]


def _talking(log: Path, since: float) -> bool:
    """Whether both directions carried bytes after ``since`` (the server saw the
    client's, ``e``; the client saw the server's own, ``t``)."""
    kinds = [kind for kind, stamp in _events(log) if stamp > since]
    return kinds.count("e") >= 3 and kinds.count("t") >= 3


def _ends_alone(logs: dict[int, Path], ended: int, live: tuple[int, ...], started: float) -> None:
    """The connection to ``ended`` carried nothing from ``EFFECTIVE`` after ``started``
    on (a second's watch), those to ``live`` kept talking both ways."""
    time.sleep(max(0.0, started + EFFECTIVE + 1.0 - time.time()))
    last = max(stamp for _kind, stamp in _events(logs[ended]))
    assert last < started + EFFECTIVE, (
        f"the connection to :{ended} still carried a byte {last - started:.2f} s after the call"
    )
    for port in live:
        assert _talking(logs[port], started + EFFECTIVE), f"the connection to :{port} ended too"


def test_a_rule_change_ends_the_established_connections_it_allowed(
    topo: Topology, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    cloud, guest, outside = topo.cloud, topo.guest, topo.outside
    ports = (8000, 8001, 8002)
    guest.spawn(sys.executable, "-c", STREAM_SERVER, *map(str, ports))
    sg_rule = cloud.rule(
        topo.port["security_groups"][0], protocol="tcp", port_range_min=8000, port_range_max=8002
    )
    request.addfinalizer(lambda: cloud.delete(f"/security-group-rules/{sg_rule['id']}"))
    fip = cloud.create("floatingip", floating_network_id=topo.public["id"], port_id=topo.port["id"])
    address = fip["floating_ip_address"]
    interface = cloud.call("GET", f"/ports?device_id={topo.router['id']}")["ports"]
    router_port = next(p["id"] for p in interface if p["device_owner"].endswith("interface"))
    allows = [
        _rule(cloud, name=f"allow-{p}", protocol="tcp", destination_port=str(p), action="allow")
        for p in ports
    ]
    ingress, group = _group(cloud, "held", allows, router_port)
    assert wait_for(lambda: _status(cloud, group["id"]) == "ACTIVE", 10)
    assert wait_for(lambda: outside.tcp(address, 8002, "probe") is not None, 10)
    logs = {port: tmp_path / f"{port}.log" for port in ports}
    for port, log in logs.items():
        outside.spawn(sys.executable, "-c", STREAM_CLIENT, address, str(port), str(log), "40")
    opened = time.time()
    assert wait_for(lambda: all(_talking(log, opened) for log in logs.values()), 10)
    # the rule of :8000 leaves the policy: its connection ends, the others' live on
    started = time.time()
    removal = {"firewall_rule_id": allows[0]}
    cloud.call("PUT", f"/fwaas/firewall_policies/{ingress['id']}/remove_rule", removal, expect=200)
    _ends_alone(logs, 8000, (8001, 8002), started)
    assert wait_for(lambda: _status(cloud, group["id"]) == "ACTIVE", 10)
    # the rule of :8001 is disabled: the same
    started = time.time()
    disabled = {"firewall_rule": {"enabled": False}}
    cloud.call("PUT", f"/fwaas/firewall_rules/{allows[1]}", disabled, expect=200)
    _ends_alone(logs, 8001, (8002,), started)
