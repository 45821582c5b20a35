"""Linux data plane benchmark: port wiring latency, security group fan-out, 100 ports.

    sudo .venv/bin/python benchmarks/network_dataplane.py [--ports 100] [--rounds 20]

Needs root, iproute2 and iptables (dnsmasq for the DHCP figures). It runs the network
service in this process with its agents (as the data plane tests do: every name carries
a random tag, VNIs of their own, everything removed at the end) and fake guests: veth
pairs whose host end is named like a guest's tap (``tap<port_id[:11]>``).

1. Port bound -> ACTIVE: a port bound to this host, then its tap appears; the time until
   the port is ACTIVE (plugged into its bridge, security group chains written, reported
   up), and until its DHCP host entry is live in dnsmasq's hosts file (from the port's
   creation).
2. ``--ports`` ports wired: their taps appear at once; the time until all are ACTIVE.
3. A security group rule added to the group of those ports: the time until every port's
   ingress chain holds it (and the same for its removal).

Targets (issue #8): < 500 ms, < 30 s for 100 ports, < 1 s for a rule on 100 ports.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.network_dataplane.conftest import SKIP, Cloud  # noqa: E402
from tests.network_dataplane.support import cleanup_tagged, run, wait_for  # noqa: E402
from tinystack.network.agents.iptables import ChainSet  # noqa: E402


def plug(sink: str, port: dict[str, Any], index: int) -> str:
    tap = "tap" + port["id"][:11]
    run(
        [
            "ip",
            "link",
            "add",
            tap,
            "type",
            "veth",
            "peer",
            "name",
            f"p{index}",
            "address",
            port["mac_address"],
            "netns",
            sink,
        ]
    )
    run(["ip", "link", "set", tap, "up"])
    return tap


def ingress_rules(cloud: Cloud) -> dict[str, str]:
    out = subprocess.run(["iptables-save", "-t", "filter"], capture_output=True, text=True).stdout
    chains: dict[str, list[str]] = {}
    for line in out.splitlines():
        if line.startswith(f"-A {cloud.chain_prefix}-I"):
            chains.setdefault(line.split()[1], []).append(line)
    return {name: "\n".join(lines) for name, lines in chains.items()}


def dhcp_live(cloud: Cloud, network_id: str, mac: str) -> bool:
    hosts = cloud.plane.ctx.state_dir / "dhcp" / network_id / "host"
    try:
        return mac in hosts.read_text()
    except OSError:
        return False


def bench_latency(cloud: Cloud, net_id: str, sink: str, rounds: int) -> dict[str, Any]:
    active, dhcp = [], []
    for i in range(rounds):
        created = time.monotonic()
        port = cloud.server_port(net_id)
        if cloud.plane.dhcp is not None:
            wait_for(lambda p=port: dhcp_live(cloud, net_id, p["mac_address"]), 10, 0.002)
            dhcp.append(time.monotonic() - created)
        started = time.monotonic()
        plug(sink, port, 1000 + i)
        assert wait_for(lambda p=port: cloud.port_status(p["id"]) == "ACTIVE", 10, 0.005)
        active.append(time.monotonic() - started)
    out: dict[str, Any] = {
        "bound_to_active_p50_ms": round(statistics.median(active) * 1000, 1),
        "bound_to_active_max_ms": round(max(active) * 1000, 1),
    }
    if dhcp:
        out["create_to_dhcp_entry_p50_ms"] = round(statistics.median(dhcp) * 1000, 1)
        out["create_to_dhcp_entry_max_ms"] = round(max(dhcp) * 1000, 1)
    return out


def bench_many(cloud: Cloud, net_id: str, sink: str, count: int) -> tuple[dict[str, Any], list]:
    started = time.monotonic()
    body = {
        "ports": [
            {
                "network_id": net_id,
                "project_id": cloud.project,
                "device_owner": "compute:nova",
                "device_id": str(uuid.uuid4()),
                "binding:host_id": cloud.host,
            }
            for _ in range(count)
        ]
    }
    ports = cloud.call("POST", "/ports", body, admin=True, expect=201)["ports"]
    created = time.monotonic() - started
    started = time.monotonic()
    for i, port in enumerate(ports):
        plug(sink, port, i)
    plugged = time.monotonic() - started

    def all_active() -> bool:
        listed = cloud.call(
            "GET", f"/ports?network_id={net_id}&device_owner=compute:nova", admin=True, expect=200
        )["ports"]
        wanted = {p["id"] for p in ports}
        return all(p["status"] == "ACTIVE" for p in listed if p["id"] in wanted)

    assert wait_for(all_active, 120, 0.05)
    wired = time.monotonic() - started
    return {
        "ports": count,
        "api_bulk_create_s": round(created, 2),
        "taps_created_s": round(plugged, 2),
        "taps_to_all_active_s": round(wired, 2),
    }, ports


def bench_rule(cloud: Cloud, ports: list[dict[str, Any]]) -> dict[str, Any]:
    group = ports[0]["security_groups"][0]
    chains = {f"{cloud.chain_prefix}-I{p['id'][:11]}" for p in ports}
    started = time.monotonic()
    rule = cloud.create(
        "security_group_rule",
        path="security-group-rules",
        security_group_id=group,
        direction="ingress",
        protocol="tcp",
        port_range_min=4242,
        port_range_max=4242,
    )

    def applied(present: bool) -> bool:
        rules = ingress_rules(cloud)
        return all(("--dport 4242" in rules.get(c, "")) == present for c in chains)

    assert wait_for(lambda: applied(True), 30, 0.01)
    added = time.monotonic() - started
    started = time.monotonic()
    cloud.delete(f"/security-group-rules/{rule['id']}")
    assert wait_for(lambda: applied(False), 30, 0.01)
    removed = time.monotonic() - started
    return {
        "rule_add_to_100_ports_ms": round(added * 1000, 1),
        "rule_delete_from_100_ports_ms": round(removed * 1000, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ports", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    if SKIP:
        print(f"cannot run: {SKIP}", file=sys.stderr)
        return 2
    tag = "b" + uuid.uuid4().hex[:5]
    cloud = None
    results: dict[str, Any] = {}
    try:
        cloud = Cloud(Path(tempfile.mkdtemp(prefix="ts-bench-")), tag)
        sink = cloud.namespace("sink").name
        net, _subnet = cloud.network("10.69.0.0/20")
        results["latency"] = bench_latency(cloud, net["id"], sink, args.rounds)
        many, ports = bench_many(cloud, net["id"], sink, args.ports)
        results["wiring"] = many
        results["security_group"] = bench_rule(cloud, ports)
        results["dhcp_agent"] = cloud.plane.dhcp is not None
    finally:
        if cloud is not None:
            cloud.destroy_namespaces()
            cloud.stop()
            for prefix in (cloud.chain_prefix, cloud.chain_prefix + "N"):
                ChainSet(prefix).remove_all()
        left = cleanup_tagged(tag)
        if left:
            print(f"cleaned up leftovers: {left}", file=sys.stderr)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
