"""FWaaS v2 benchmark against a running cloud: a firewall rule change, from the API
call to the data plane, measured with real traffic through the router.

    sudo .venv/bin/python benchmarks/fwaas.py --os-cloud tinystack-admin [--rounds 20] \
        [--host <the L2/L3 agents' host>] [--router-namespace-prefix qrouter-]

Run it as root on the host of the cloud's L2 and L3 agents, with admin credentials. It
builds a router joining two networks, a fake guest on each (a namespace holding the far
end of a veth named ``tap<port id[:11]>``, as Nova plugs a guest; ports without port
security), a TCP server on the first and a firewall group on the router's interface to
the first network: ingress ``reject tcp/8000`` (REJECT answers at once, so a refused
connection is seen without a timeout), egress allow all. Each round:

1. ``insert_rule`` of an allow rule before the reject rule: the time from the API call
   until a new connection from the second guest gets through, seen by a prober running
   in that guest (new connection attempts back to back; ``CLOCK_MONOTONIC`` is the same
   in every network namespace), and until the rule is in the router namespace's
   ``iptables-save``;
2. ``remove_rule`` of it: the time until a new connection is refused again.

Between rounds it waits for the group to be ACTIVE again (a PENDING group refuses
changes, as upstream's). Everything it creates (named ``tsfw-<tag>``) is removed.

Target (issue #17): a firewall rule change effective on the data plane under 500 ms.
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
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _guests import Guest, Guests
from _harness import add_auth_args, creds_from_args, issue_token
from network import Neutron, network_url
from network_dataplane import ms, wait_for

PROBER = """
import socket, sys, time
want = sys.argv[2] == "open"
print("ready", flush=True)
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    s = socket.socket()
    s.settimeout(0.2)
    try:
        s.connect((sys.argv[1], 8000))
        ok = True
    except OSError:
        ok = False
    s.close()
    if ok == want:
        print(time.monotonic(), flush=True)
        sys.exit(0)
    time.sleep(0.002)
sys.exit(1)
"""
SERVER = """
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8000))
s.listen(128)
while True:
    c, _ = s.accept()
    c.close()
"""


class Bench:
    def __init__(self, api: Neutron, host: str, tag: str, ns_prefix: str) -> None:
        self.api = api
        self.ns_prefix = ns_prefix
        self.host = host
        self.name = f"tsfw-{tag}"
        self.guests = Guests(api, host, self.name)  # its API objects, namespaces, server
        self.server: Guest | None = None
        self.client: Guest | None = None
        self.router_id = ""
        self.subnets: list[str] = []
        self.interfaces: list[str] = []
        self.group_id = ""
        self.policy_id = ""
        self.reject_id = ""
        self.allow_id = ""

    def create(self, kind: str, path: str, **body: Any) -> dict[str, Any]:
        return self.guests.create(kind, path, **body)

    # -- topology ---------------------------------------------------------------------------

    def setup(self) -> tuple[str, str]:
        router = self.create("router", "routers", name=self.name)
        self.router_id = router["id"]
        guests = []
        for index, cidr in enumerate(("10.71.1.0/24", "10.71.2.0/24")):
            net, subnet = self.guests.network(cidr)
            self.subnets.append(subnet["id"])
            body = {"subnet_id": subnet["id"]}
            found = self.api.call("PUT", f"/routers/{self.router_id}/add_router_interface", body)
            self.interfaces.append(found["port_id"])
            guests.append(self.guests.guest(f"g{index}", net, subnet, routed=True))
        self.server, self.client = guests
        self.guests.spawn(self.server, sys.executable, "-c", SERVER)
        rule = "firewall_rule"
        rules = "fwaas/firewall_rules"
        self.reject_id = self.create(rule, rules, name=self.name, protocol="tcp",
                                     destination_port="8000", action="reject")["id"]  # fmt: skip
        self.allow_id = self.create(rule, rules, name=self.name, protocol="tcp",
                                    destination_port="8000", action="allow")["id"]  # fmt: skip
        out = self.create(rule, rules, name=self.name, action="allow")["id"]
        policies = "fwaas/firewall_policies"
        self.policy_id = self.create(
            "firewall_policy", policies, name=self.name, firewall_rules=[self.reject_id]
        )["id"]
        egress = self.create("firewall_policy", policies, name=self.name, firewall_rules=[out])
        group = self.create(
            "firewall_group",
            "fwaas/firewall_groups",
            name=self.name,
            ingress_firewall_policy_id=self.policy_id,
            egress_firewall_policy_id=egress["id"],
            ports=[self.interfaces[0]],
        )
        self.group_id = group["id"]
        self.wait_active()
        return self.server.address, self.client.address

    def teardown(self) -> None:
        """The group off its port and the router's interfaces off their subnets first (the
        API refuses to delete either under them), then what ``Guests`` made."""
        if self.group_id:
            detach: dict[str, Any] = {"firewall_group": {"ports": []}}
            self.api.call("PUT", f"/fwaas/firewall_groups/{self.group_id}", detach, ok=(200, 404))
        for subnet_id in self.subnets:
            interface = {"subnet_id": subnet_id}
            self.api.call(
                "PUT", f"/routers/{self.router_id}/remove_router_interface", interface,
                ok=(200, 404),
            )  # fmt: skip
        self.guests.close()

    # -- measurements -----------------------------------------------------------------------

    def wait_active(self) -> None:
        def active() -> bool:
            path = f"/fwaas/firewall_groups/{self.group_id}"
            return bool(self.api.call("GET", path)["firewall_group"]["status"] == "ACTIVE")

        if not wait_for(active, 30, 0.01):
            raise SystemExit("the firewall group did not become ACTIVE in 30 s")

    def in_iptables(self, text: str) -> bool:
        ns = f"{self.ns_prefix}{self.router_id}"
        found = subprocess.run(
            ["ip", "netns", "exec", ns, "iptables-save", "-t", "filter"],
            capture_output=True,
            text=True,
        ).stdout
        return text in found

    def change(self, action: str, server: str, want: str) -> tuple[float, float | None]:
        """One insert/remove: seconds until traffic shows it (and, for an insert, until
        the allow rule is in iptables-save)."""
        assert self.client is not None  # setup made it
        prober = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                self.client.namespace,
                sys.executable,
                "-c",
                PROBER,
                server,
                want,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert prober.stdout is not None
        assert prober.stdout.readline().strip() == "ready"
        started = time.monotonic()
        body: dict[str, str] = {"firewall_rule_id": self.allow_id}
        if action == "insert_rule":
            body["insert_before"] = self.reject_id
        self.api.call("PUT", f"/fwaas/firewall_policies/{self.policy_id}/{action}", body)
        in_table = None
        # every 20 ms: iptables-save in a loop would slow the agent it measures
        if action == "insert_rule" and wait_for(
            lambda: self.in_iptables("--dport 8000 -j ACCEPT"), 5, 0.02
        ):
            in_table = time.monotonic() - started
        line = prober.stdout.readline().strip()
        if prober.wait() != 0 or not line:
            raise SystemExit(f"{action}: the traffic never changed")
        return float(line) - started, in_table

    def rounds(self, server: str, count: int) -> dict[str, Any]:
        allowed: list[float] = []
        tables: list[float] = []
        refused: list[float] = []
        for _ in range(count):
            took, table = self.change("insert_rule", server, "open")
            allowed.append(took)
            if table is not None:
                tables.append(table)
            self.wait_active()
            took, _ = self.change("remove_rule", server, "refused")
            refused.append(took)
            self.wait_active()
        out: dict[str, Any] = {
            "rounds": count,
            "insert_allow_to_traffic_p50_ms": ms(statistics.median(allowed)),
            "insert_allow_to_traffic_max_ms": ms(max(allowed)),
            "remove_allow_to_refused_p50_ms": ms(statistics.median(refused)),
            "remove_allow_to_refused_max_ms": ms(max(refused)),
        }
        if tables:
            out["insert_allow_to_iptables_p50_ms"] = ms(statistics.median(tables))
        return out


def l3_host(api: Neutron, wanted: str | None) -> str:
    agents = api.call("GET", "/agents?agent_type=L3%20agent")["agents"]
    hosts = sorted({str(a["host"]) for a in agents if a.get("alive", True)})
    if wanted:
        return wanted
    if socket.gethostname() in hosts:
        return socket.gethostname()
    if len(hosts) == 1:
        return hosts[0]
    raise SystemExit(f"give --host: the L3 agents are on {hosts}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_auth_args(parser)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--host", help="the host of the L2 and L3 agents")
    parser.add_argument(
        "--router-namespace-prefix", default="qrouter-", help="[network] router_namespace_prefix"
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("run as root: the fake guests are veth pairs and namespaces", file=sys.stderr)
        return 2
    token, catalog = issue_token(creds_from_args(args))
    api = Neutron(network_url(catalog), token)
    host = l3_host(api, args.host)
    bench = Bench(api, host, uuid.uuid4().hex[:6], args.router_namespace_prefix)
    results: dict[str, Any] = {"host": bench.host, "load": os.getloadavg()[0]}
    try:
        server, _client = bench.setup()
        results["firewall_rule_change"] = bench.rounds(server, args.rounds)
    finally:
        bench.teardown()
        results["load_after"] = os.getloadavg()[0]
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
