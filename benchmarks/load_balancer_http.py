"""Load balancer data plane benchmark: HTTP requests/s through the VIP against one member
hit directly, both with wrk from a client namespace on the members' network.

    sudo .venv/bin/python benchmarks/load_balancer_http.py --os-cloud tinystack-admin \
        [--members 2] [--runs 3] [--seconds 3] [--connections 32] [--threads 1] \
        [--host <the L2 agent's host>] [--lb-namespace-prefix qlbaas-]

Run it as root on the host of the cloud's L2 agent and load balancer provider (tinystack's
``haproxy``: HAProxy in a ``qlbaas-<id>`` namespace), with admin credentials. It makes a
network and subnet, ``--members`` fake guests on it (namespaces plugged as Nova plugs a
guest, ``benchmarks/_guests.py``) each serving a fixed HTTP answer (its name), a client
guest, and a load balancer with an HTTP listener on port 80 and a ROUND_ROBIN HTTP pool
of the members. It checks that the load balancer runs HAProxy in its namespace and that
requests to the VIP reach every member, then runs wrk from the client: a warm-up, then
``--runs`` rounds of one member directly and of the VIP, back to back (so both see the
same background load), ``--seconds`` each. It reports requests/s (median over the runs)
for both and their ratio, with the load average at every run and the CPU time each party
(wrk, the members, the load balancer's HAProxy) used per request: on a machine where they
all share the same few cores, requests/s is bound by the CPU the whole path takes.

The members' HTTP server is HAProxy too (one thread, ``http-request return`` of a fixed
body, no file or process per request): a server that is not itself the bottleneck, so the
direct figure is about what one client can drive through one veth and the VIP figure adds
only the load balancer's work. Everything made (named ``<prefix>-<tag>``) is removed, even
on failure or SIGTERM.

Target (issue #17): HTTP through the VIP at least 80 % of the requests/s of one member.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _guests import Guest, Guests, exit_on_sigterm
from _harness import Client, add_auth_args, creds_from_args, issue_token
from load_balancer import lb_url, wait
from network import Neutron, network_url
from network_dataplane import agent_host, wait_for

MEMBER_PORT = 8080
VIP_PORT = 80
MEMBER_CONFIG = """global
    nbthread 1
    maxconn 4000
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend member
    bind {address}:{port}
    http-request return status 200 content-type text/plain string {name}
"""
FETCH = """
import sys, urllib.request
for _ in range(int(sys.argv[2])):
    print(urllib.request.urlopen(f"http://{sys.argv[1]}/", timeout=5).read().decode())
"""


class LoadBalancer:
    """The load balancer API objects this benchmark makes (deleted with ``cascade``)."""

    def __init__(self, client: Client, token: str) -> None:
        self.client = client
        self.headers = {"X-Auth-Token": token}
        self.lb_id = ""

    def post(self, kind: str, path: str, **body: Any) -> dict[str, Any]:
        status, _, payload = self.client.request("POST", f"/v2/lbaas/{path}", self.headers,
                                                 {kind: body})  # fmt: skip
        if status != 201:
            raise SystemExit(f"create {kind}: {status} {payload[:300]!r}")
        found: dict[str, Any] = json.loads(payload)[kind]
        if kind == "loadbalancer":
            self.lb_id = str(found["id"])
        state = wait(self.client, self.headers, self.lb_id)
        if state != "ACTIVE":
            raise SystemExit(f"load balancer {self.lb_id} went {state} after a {kind} create")
        return found

    def build(self, subnet_id: str, provider: str, name: str, members: list[Guest]) -> str:
        """The load balancer, listener, pool and members; the VIP address."""
        lb = self.post("loadbalancer", "loadbalancers", name=name, vip_subnet_id=subnet_id,
                       provider=provider)  # fmt: skip
        listener = self.post("listener", "listeners", name=name, loadbalancer_id=self.lb_id,
                             protocol="HTTP", protocol_port=VIP_PORT)  # fmt: skip
        pool = self.post("pool", "pools", name=name, listener_id=listener["id"],
                         protocol="HTTP", lb_algorithm="ROUND_ROBIN")  # fmt: skip
        for guest in members:
            self.post("member", f"pools/{pool['id']}/members", name=guest.namespace,
                      address=guest.address, protocol_port=MEMBER_PORT,
                      subnet_id=subnet_id)  # fmt: skip
        return str(lb["vip_address"])

    def delete(self) -> None:
        if self.lb_id:
            path = f"/v2/lbaas/loadbalancers/{self.lb_id}?cascade=true"
            self.client.request("DELETE", path, self.headers)
            wait(self.client, self.headers, self.lb_id, gone=True)


def haproxy_in(namespace: str) -> list[int]:
    """The pids of the HAProxy processes in ``namespace``."""
    pids = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True)
    found = []
    for pid in pids.stdout.split():
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "haproxy":
                found.append(int(pid))
        except OSError:
            continue
    return found


def serve(guests: Guests, guest: Guest, directory: Path) -> None:
    config = directory / f"{guest.namespace}.cfg"
    config.write_text(MEMBER_CONFIG.format(address=guest.address, port=MEMBER_PORT,
                                           name=guest.namespace))  # fmt: skip
    guests.serving(guest, MEMBER_PORT, guests.spawn(guest, "haproxy", "-db", "-f", str(config)))


def cpu_seconds(namespaces: list[str]) -> float:
    """User + system CPU seconds used so far by the processes in ``namespaces``."""
    total = 0
    for ns in namespaces:
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
        for pid in pids.stdout.split():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class Wrk:
    """wrk runs from the client, with the CPU each party used per request (microseconds:
    wrk, the members' servers, the load balancer's HAProxy; kernel time spent in their
    context, the network stack's mostly, included)."""

    def __init__(self, guests: Guests, client: Guest, roles: dict[str, list[str]]) -> None:
        self.guests = guests
        self.client = client
        self.roles = roles  # role -> its namespaces

    def run(self, url: str, args: argparse.Namespace) -> dict[str, Any]:
        load = os.getloadavg()[0]
        cmd = ["wrk", "-t", str(args.threads), "-c", str(args.connections),
               "-d", f"{args.seconds}s", "--latency", url]  # fmt: skip
        before = {role: cpu_seconds(nss) for role, nss in self.roles.items()}
        wrk_before = children_cpu()
        out = self.guests.run(self.client, *cmd, timeout=args.seconds + 30)
        used = {role: cpu_seconds(nss) - before[role] for role, nss in self.roles.items()}
        used["wrk"] = children_cpu() - wrk_before
        rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
        count = re.search(r"(\d+) requests in", out)
        if rate is None or count is None or not int(count.group(1)):
            raise SystemExit(f"wrk said: {out}")
        requests = int(count.group(1))
        figures: dict[str, Any] = {"rps": float(rate.group(1)), "load": round(load, 2)}
        for q in ("50", "99"):
            found = re.search(rf"^\s+{q}%\s+(\S+)", out, re.MULTILINE)
            if found:
                figures[f"p{q}"] = found.group(1)
        figures["cpu_us_per_request"] = {
            role: round(seconds / requests * 1e6, 1) for role, seconds in used.items()
        }
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if bad:
            figures["non_2xx"] = int(bad.group(1))
        errors = re.search(r"Socket errors: (.*)", out)
        if errors:
            figures["socket_errors"] = errors.group(1).strip()
        return figures


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(runner: Wrk, member: str, vip: str, args: argparse.Namespace) -> dict[str, Any]:
    targets = {
        "direct": f"http://{member}:{MEMBER_PORT}/",
        "vip": f"http://{vip}:{VIP_PORT}/",
    }
    warm = argparse.Namespace(**{**vars(args), "seconds": 1})
    for url in targets.values():
        runner.run(url, warm)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    for _ in range(args.runs):
        for name, url in targets.items():
            runs[name].append(runner.run(url, args))
    direct = statistics.median(r["rps"] for r in runs["direct"])
    via = statistics.median(r["rps"] for r in runs["vip"])
    return {
        "direct_rps_median": round(direct),
        "vip_rps_median": round(via),
        "vip_to_direct_ratio": round(via / direct, 3),
        "runs": runs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_auth_args(parser)
    parser.add_argument("--members", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=3, help="per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--provider", default="haproxy")
    parser.add_argument("--host", help="the host of the L2 agent")
    parser.add_argument("--lb-namespace-prefix", default="qlbaas-",
                        help="[load_balancer] namespace_prefix")  # fmt: skip
    parser.add_argument("--prefix", default="tslb", help="name prefix of what it makes")
    parser.add_argument("--cidr", default="10.73.0.0/24")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("run as root: the guests are veth pairs and namespaces", file=sys.stderr)
        return 2
    for tool in ("wrk", "haproxy"):
        if shutil.which(tool) is None:
            print(f"needs {tool} (Debian package {tool})", file=sys.stderr)
            return 2
    exit_on_sigterm()
    token, catalog = issue_token(creds_from_args(args))
    api = Neutron(network_url(catalog), token)
    name = f"{args.prefix}-{uuid.uuid4().hex[:6]}"
    guests = Guests(api, agent_host(api, args.host), name)
    lb = LoadBalancer(Client(lb_url(catalog)), token)
    directory = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    results: dict[str, Any] = {"host": guests.host, "load_before": os.getloadavg()}
    try:
        net, subnet = guests.network(args.cidr)
        members = [guests.guest(f"m{n}", net, subnet) for n in range(args.members)]
        for guest in members:
            serve(guests, guest, directory)
        client = guests.guest("cl", net, subnet)
        vip = lb.build(subnet["id"], args.provider, name, members)
        namespace = f"{args.lb_namespace_prefix}{lb.lb_id}"
        if not haproxy_in(namespace):
            raise SystemExit(f"no HAProxy in namespace {namespace}")
        names = {g.namespace for g in members}
        said = [""]

        def every_member() -> bool:
            try:
                seen = guests.run(client, sys.executable, "-c", FETCH, vip, str(2 * len(names)))
            except subprocess.CalledProcessError as exc:
                said[0] = str(exc.stderr).strip().split("\n")[-1]
                return False
            said[0] = seen
            return set(seen.split()) == names

        if not wait_for(every_member, 10, 0.2):
            raise SystemExit(f"requests to the VIP do not reach every member: {said[0]}")
        results["lb_namespace"] = namespace
        results["haproxy"] = subprocess.run(["haproxy", "-v"], capture_output=True,
                                            text=True).stdout.split("\n")[0]  # fmt: skip
        results["wrk"] = f"-t {args.threads} -c {args.connections} -d {args.seconds}s"
        roles = {"members": sorted(names), "load_balancer": [namespace]}
        runner = Wrk(guests, client, roles)
        results.update(measure(runner, members[0].address, vip, args))
    finally:
        try:
            lb.delete()
        finally:
            guests.close()
            shutil.rmtree(directory, ignore_errors=True)
        results["load_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
