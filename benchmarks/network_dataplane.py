"""Linux data plane benchmark against a running cloud: port wiring, DHCP, security groups.

    sudo .venv/bin/python benchmarks/network_dataplane.py --os-cloud tinystack-admin \
        [--ports 100] [--rounds 20] [--host <the L2 agent's host>]

Run it as root on the machine of the cloud's Linux bridge agent, with admin credentials
(``--os-cloud``, or ``--auth-url --username --password``). Guests are faked the way Nova
plugs them: a veth pair per port whose host end is named ``tap<port id[:11]>``, the other
end in a namespace this script makes (``tsbench-<tag>``), so the same script measures
upstream Neutron's linuxbridge agent. Everything it creates is removed at the end.

1. Port bound -> ACTIVE: a port bound to the agent's host, then its tap appears; the time
   until the API shows the port ACTIVE (bridged, security group chains written, reported
   up); and from the port's creation until its MAC is in the hosts file of the network's
   dnsmasq (found by its ``--dhcp-hostsfile`` argument).
2. ``--ports`` ports created in one bulk request, their taps added at once: the time
   until all are ACTIVE.
3. A rule added to the security group of those ports: the time until an iptables chain
   of every port holds it (``iptables-save``), and the same for its removal.

Targets (issue #8): < 500 ms, < 30 s for 100 ports, < 1 s for a rule on 100 ports.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _harness import add_auth_args, creds_from_args, issue_token
from network import Neutron, network_url


def sh(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


class Bench:
    def __init__(self, api: Neutron, host: str, tag: str) -> None:
        self.api = api
        self.host = host
        self.tag = tag
        self.sink = f"tsbench-{tag}"
        self.ports: list[str] = []
        self.net_id = ""
        self.group_id = ""
        self.index = 0

    # -- setup and teardown --------------------------------------------------------------

    def setup(self) -> None:
        sh("ip", "netns", "add", self.sink)
        net = self.api.call("POST", "/networks", {"network": {"name": self.sink}}, ok=(201,))
        self.net_id = net["network"]["id"]
        subnet = {"network_id": self.net_id, "ip_version": 4, "cidr": "10.69.0.0/20"}
        self.api.call("POST", "/subnets", {"subnet": subnet}, ok=(201,))
        group = {"security_group": {"name": self.sink}}
        self.group_id = self.api.call("POST", "/security-groups", group, ok=(201,))[
            "security_group"
        ]["id"]

    def teardown(self) -> None:
        subprocess.run(["ip", "netns", "delete", self.sink], capture_output=True)
        for port_id in self.ports:
            self.api.call("DELETE", f"/ports/{port_id}", ok=(204, 404))
        if self.net_id:
            self.api.call("DELETE", f"/networks/{self.net_id}", ok=(204, 404))
        if self.group_id:
            self.api.call("DELETE", f"/security-groups/{self.group_id}", ok=(204, 404, 409))

    # -- ports and fake guests ------------------------------------------------------------

    def port_body(self) -> dict[str, Any]:
        return {
            "network_id": self.net_id,
            "device_owner": "compute:nova",
            "device_id": str(uuid.uuid4()),
            "binding:host_id": self.host,
            "security_groups": [self.group_id],
        }

    def plug(self, port: dict[str, Any]) -> None:
        """The guest's tap: a veth whose far end (the guest's NIC) is in the sink."""
        self.index += 1
        tap = "tap" + port["id"][:11]
        peer = f"g{self.index}"
        sh("ip", "link", "add", tap, "type", "veth", "peer", "name", peer,
           "address", port["mac_address"], "netns", self.sink)  # fmt: skip
        sh("ip", "link", "set", tap, "up")

    def active(self, port_id: str) -> bool:
        return bool(self.api.call("GET", f"/ports/{port_id}")["port"]["status"] == "ACTIVE")

    # -- measurements -----------------------------------------------------------------------

    def latency(self, rounds: int) -> dict[str, Any]:
        active: list[float] = []
        dhcp: list[float] = []
        for _ in range(rounds):
            created = time.monotonic()
            port = self.api.call("POST", "/ports", {"port": self.port_body()}, ok=(201,))["port"]
            self.ports.append(port["id"])
            hosts = dhcp_hosts_file(self.net_id)
            mac = port["mac_address"]
            if hosts is not None and wait_for(partial(in_file, hosts, mac), 10):
                dhcp.append(time.monotonic() - created)
            started = time.monotonic()
            self.plug(port)
            if not wait_for(partial(self.active, port["id"]), 10):
                raise SystemExit(f"port {port['id']} not ACTIVE in 10 s")
            active.append(time.monotonic() - started)
        out: dict[str, Any] = {
            "bound_to_active_p50_ms": ms(statistics.median(active)),
            "bound_to_active_max_ms": ms(max(active)),
        }
        if dhcp:
            out["create_to_dhcp_entry_p50_ms"] = ms(statistics.median(dhcp))
            out["create_to_dhcp_entry_max_ms"] = ms(max(dhcp))
        return out

    def many(self, count: int) -> tuple[dict[str, Any], list[str]]:
        started = time.monotonic()
        body = {"ports": [self.port_body() for _ in range(count)]}
        ports = self.api.call("POST", "/ports", body, ok=(201,))["ports"]
        self.ports += [p["id"] for p in ports]
        created = time.monotonic() - started
        started = time.monotonic()
        for port in ports:
            self.plug(port)
        plugged = time.monotonic() - started
        wanted = {p["id"] for p in ports}

        def all_active() -> bool:
            path = (
                f"/ports?network_id={self.net_id}&device_owner=compute:nova&fields=id&fields=status"
            )
            listed = self.api.call("GET", path)["ports"]
            return all(p["status"] == "ACTIVE" for p in listed if p["id"] in wanted)

        if not wait_for(all_active, 120, 0.05):
            raise SystemExit(f"{count} ports not ACTIVE in 120 s")
        wired = time.monotonic() - started
        figures = {
            "ports": count,
            "api_bulk_create_s": round(created, 2),
            "taps_created_s": round(plugged, 2),
            "taps_to_all_active_s": round(wired, 2),
        }
        return figures, sorted(wanted)

    def rule(self, port_ids: list[str]) -> dict[str, Any]:
        body = {
            "security_group_rule": {
                "security_group_id": self.group_id,
                "direction": "ingress",
                "protocol": "tcp",
                "port_range_min": 4242,
                "port_range_max": 4242,
            }
        }
        started = time.monotonic()
        rule = self.api.call("POST", "/security-group-rules", body, ok=(201,))
        if not wait_for(lambda: ports_with(port_ids, "--dport 4242") == set(port_ids), 30, 0.01):
            raise SystemExit("the rule did not reach every port in 30 s")
        added = time.monotonic() - started
        started = time.monotonic()
        rule_id = rule["security_group_rule"]["id"]
        self.api.call("DELETE", f"/security-group-rules/{rule_id}", ok=(204,))
        if not wait_for(lambda: not ports_with(port_ids, "--dport 4242"), 30, 0.01):
            raise SystemExit("the rule was not removed from every port in 30 s")
        removed = time.monotonic() - started
        return {
            f"rule_add_to_{len(port_ids)}_ports_ms": ms(added),
            f"rule_delete_from_{len(port_ids)}_ports_ms": ms(removed),
        }


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def in_file(path: Path, text: str) -> bool:
    try:
        return text in path.read_text()
    except OSError:
        return False


def dhcp_hosts_file(network_id: str) -> Path | None:
    """The ``--dhcp-hostsfile`` of the dnsmasq serving ``network_id`` (None: no DHCP)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
            except OSError:
                continue
            if not args or not args[0].endswith("dnsmasq") or network_id not in "".join(args):
                continue
            for arg in args:
                if arg.startswith("--dhcp-hostsfile="):
                    return Path(arg.split("=", 1)[1])
        time.sleep(0.05)
    return None


def ports_with(port_ids: list[str], text: str) -> set[str]:
    """The ports with an iptables chain (named after the port) holding ``text``."""
    saved = sh("iptables-save", "-t", "filter")
    keys = {p[:10]: p for p in port_ids}
    found = set()
    for line in saved.splitlines():
        if not line.startswith("-A ") or text not in line:
            continue
        chain = line.split()[1]
        for key, port_id in keys.items():
            if key in chain:
                found.add(port_id)
    return found


def agent_host(api: Neutron, wanted: str | None) -> str:
    agents = api.call("GET", "/agents?agent_type=Linux%20bridge%20agent")["agents"]
    hosts: list[str] = sorted({str(a["host"]) for a in agents if a.get("alive", True)})
    if wanted:
        if wanted not in hosts:
            raise SystemExit(f"no live Linux bridge agent on {wanted} (have {hosts})")
        return wanted
    if socket.gethostname() in hosts:
        return socket.gethostname()
    if len(hosts) == 1:
        return hosts[0]
    raise SystemExit(f"give --host: the Linux bridge agents are on {hosts}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_auth_args(parser)
    parser.add_argument("--ports", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--host", help="the host of the local Linux bridge agent")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("run as root: the fake guests are veth pairs and a namespace", file=sys.stderr)
        return 2
    token, catalog = issue_token(creds_from_args(args))
    api = Neutron(network_url(catalog), token)
    bench = Bench(api, agent_host(api, args.host), uuid.uuid4().hex[:6])
    results: dict[str, Any] = {"host": bench.host}
    try:
        bench.setup()
        results["latency"] = bench.latency(args.rounds)
        results["wiring"], port_ids = bench.many(args.ports)
        results["security_group"] = bench.rule(port_ids)
    finally:
        bench.teardown()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
