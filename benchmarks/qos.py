"""QoS benchmark: a bandwidth limit, from the API call to the limit in force on the data
plane (the L2 agent's tc qdisc and nftables rule for the port's tap).

    sudo .venv/bin/python benchmarks/qos.py --os-cloud tinystack-admin [--changes 20] \
        [--poll 0.01] [--iperf-seconds 3] [--host <the L2 agent's host>]

Run it as root on the host of the cloud's L2 agent, with admin credentials. It makes a
network, a fake guest on it (``benchmarks/_guests.py``: a namespace on the port's tap) and
a QoS policy with an egress and an ingress ``bandwidth_limit`` rule, then times, polling
every ``--poll`` seconds from just before the API call:

1. attaching the policy to the port (``PUT /ports/{id}`` ``qos_policy_id``): until the
   ingress limit is the tap's ``tbf`` root qdisc (``tc -j qdisc show dev <tap> root``)
   and until the egress limit is the tap's rule in the agent's nftables ``bridge`` table
   (``nft list table bridge <prefix>_qos``: ``iifname "<tap>" limit rate over <kbit/8>
   kbytes/second``);
2. ``--changes`` rule updates of each direction (``PUT .../bandwidth_limit_rules/{id}``
   ``max_kbps``, a new rate each time): until the tap's qdisc or rule carries the new rate;
3. detaching the policy: until both are gone.

It reports p50/p90/max per kind. With ``--iperf-seconds`` > 0 (and iperf3 installed) it
then sets both limits to 10 Mbit/s and runs a bounded iperf3 TCP stream each way between
the guest and a second one, reporting the rates seen after the first second (the token
bucket's initial fill). Everything made (named ``<prefix>-<tag>``) is removed.

Egress here is tinystack's nftables policing (its agent's ``tc`` police needs kernel
modules its test machines lack); ingress (``tbf``) is what upstream's agent writes too.

Target (issue #17): a QoS limit applied under 500 ms after the API call.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _guests import Guest, Guests, exit_on_sigterm
from _harness import add_auth_args, creds_from_args, issue_token
from network import Neutron, network_url
from network_dataplane import agent_host, ms

LIMIT_KBPS = 10_000


def ingress_kbps(tap: str) -> int | None:
    """The rate of the tap's ``tbf`` root qdisc in kbit/s (None: no tbf)."""
    out = subprocess.run(["tc", "-j", "qdisc", "show", "dev", tap, "root"],
                         capture_output=True, text=True).stdout  # fmt: skip
    for qdisc in json.loads(out or "[]"):
        if qdisc.get("kind") == "tbf":
            return int(qdisc["options"]["rate"]) // 125
    return None


#: the agents' ``bridge`` QoS tables found so far (``<prefix>_qos``)
_QOS_TABLES: list[str] = []


def _nft(*args: str) -> str:
    return subprocess.run(["nft", *args], capture_output=True, text=True).stdout


def egress_kbytes(tap: str) -> int | None:
    """The rate (kbytes/s) of the tap's nftables policing rule (None: no rule). Listing
    the whole ruleset (every iptables-nft rule on the host) takes 60 ms and more, which
    would count in the figure: the ``*_qos`` tables are found once and read alone."""
    if not _QOS_TABLES:
        listed = _nft("list", "tables", "bridge")
        _QOS_TABLES.extend(re.findall(r"^table bridge (\S+_qos)$", listed, re.M))
    out = "".join(_nft("list", "table", "bridge", table) for table in _QOS_TABLES)
    for line in out.splitlines():
        if f'iifname "{tap}"' in line:
            found = re.search(r"limit rate over (\d+) kbytes/second", line)
            if found:
                return int(found.group(1))
    return None


def nft_rate(kbps: int) -> int:
    """How the agent writes an egress limit of ``kbps`` (kbit/s) in its nft rule."""
    return max(kbps // 8, 1)


def summary(values: list[float]) -> dict[str, float]:
    data = sorted(values)
    return {
        "n": len(data),
        "p50_ms": ms(statistics.median(data)),
        "p90_ms": ms(data[max(int(len(data) * 0.9) - 1, 0)]),
        "max_ms": ms(data[-1]),
    }


class Bench:
    def __init__(self, guests: Guests, poll: float) -> None:
        self.guests = guests
        self.api = guests.api
        self.poll = poll
        self.policy_id = ""
        self.rules: dict[str, str] = {}  # direction -> rule id

    def timed(self, call: Callable[[], Any], *done: Callable[[], bool]) -> list[float]:
        """Seconds from just before ``call`` until each of ``done`` first holds."""
        started = time.monotonic()
        call()
        took: list[float | None] = [None] * len(done)
        deadline = started + 30
        while None in took and time.monotonic() < deadline:
            for n, check in enumerate(done):
                if took[n] is None and check():
                    took[n] = time.monotonic() - started
            time.sleep(self.poll)
        if None in took:
            raise SystemExit("the data plane did not follow the API in 30 s")
        return [t for t in took if t is not None]

    def policy(self) -> None:
        policy = self.guests.create("policy", "qos/policies", name=self.guests.name)
        self.policy_id = policy["id"]
        for direction in ("egress", "ingress"):
            rule = self.api.call(
                "POST",
                f"/qos/policies/{self.policy_id}/bandwidth_limit_rules",
                {"bandwidth_limit_rule": {"max_kbps": LIMIT_KBPS, "direction": direction}},
                ok=(201,),
            )
            self.rules[direction] = rule["bandwidth_limit_rule"]["id"]

    def attach(self, guest: Guest, policy_id: str | None) -> list[float]:
        def put() -> None:
            body = {"port": {"qos_policy_id": policy_id}}
            self.api.call("PUT", f"/ports/{guest.port['id']}", body)

        if policy_id:
            return self.timed(put, lambda: ingress_kbps(guest.tap) == LIMIT_KBPS,
                              lambda: egress_kbytes(guest.tap) == nft_rate(LIMIT_KBPS))  # fmt: skip
        return self.timed(put, lambda: ingress_kbps(guest.tap) is None,
                          lambda: egress_kbytes(guest.tap) is None)  # fmt: skip

    def change(self, guest: Guest, direction: str, kbps: int) -> float:
        def put() -> None:
            path = f"/qos/policies/{self.policy_id}/bandwidth_limit_rules/{self.rules[direction]}"
            self.api.call("PUT", path, {"bandwidth_limit_rule": {"max_kbps": kbps}})

        if direction == "ingress":
            return self.timed(put, lambda: ingress_kbps(guest.tap) == kbps)[0]
        return self.timed(put, lambda: egress_kbytes(guest.tap) == nft_rate(kbps))[0]

    def rounds(self, guest: Guest, count: int) -> dict[str, Any]:
        attach = self.attach(guest, self.policy_id)
        changes: dict[str, list[float]] = {"egress": [], "ingress": []}
        for n in range(count):
            for direction in changes:
                kbps = LIMIT_KBPS + 1000 * (n + 1)  # a new rate every time
                changes[direction].append(self.change(guest, direction, kbps))
        out: dict[str, Any] = {
            "attach_policy_to_ingress_tbf_ms": ms(attach[0]),
            "attach_policy_to_egress_nft_ms": ms(attach[1]),
            "change_egress_rule": summary(changes["egress"]),
            "change_ingress_rule": summary(changes["ingress"]),
        }
        for direction in changes:  # back to the limit the iperf3 check expects
            self.change(guest, direction, LIMIT_KBPS)
        return out

    def iperf(self, guest: Guest, other: Guest, seconds: int) -> dict[str, float]:
        """Mbit/s out of and into the limited guest (each after the first second)."""
        for g in (guest, other):
            self.guests.serving(g, 5201, self.guests.spawn(g, "iperf3", "-s", "-B", g.address))

        def mbits(receiver: Guest, sender: Guest) -> float:
            cmd = ["iperf3", "-c", sender.address, "-R", "-t", str(seconds), "-J"]
            out = json.loads(self.guests.run(receiver, *cmd, timeout=seconds + 30))
            steady = [float(i["sum"]["bits_per_second"]) for i in out["intervals"][1:]]
            return round(sum(steady) / len(steady) / 1e6, 2) if steady else 0.0

        return {
            "limit_mbit": LIMIT_KBPS / 1000,
            "egress_mbit": mbits(other, guest),
            "ingress_mbit": mbits(guest, other),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_auth_args(parser)
    parser.add_argument("--changes", type=int, default=20, help="rule updates per direction")
    parser.add_argument("--poll", type=float, default=0.01, help="seconds between reads")
    parser.add_argument("--iperf-seconds", type=int, default=3, help="0: no iperf3 check")
    parser.add_argument("--host", help="the host of the L2 agent")
    parser.add_argument("--prefix", default="tsqos", help="name prefix of what it makes")
    parser.add_argument("--cidr", default="10.74.0.0/24")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("run as root: the guest is a veth pair and a namespace", file=sys.stderr)
        return 2
    if args.iperf_seconds and shutil.which("iperf3") is None:
        print("needs iperf3 (Debian package iperf3), or --iperf-seconds 0", file=sys.stderr)
        return 2
    exit_on_sigterm()
    token, catalog = issue_token(creds_from_args(args))
    api = Neutron(network_url(catalog), token)
    guests = Guests(api, agent_host(api, args.host), f"{args.prefix}-{uuid.uuid4().hex[:6]}")
    bench = Bench(guests, args.poll)
    results: dict[str, Any] = {"host": guests.host, "load_before": os.getloadavg()}
    guest = None
    try:
        net, subnet = guests.network(args.cidr)
        guest = guests.guest("g0", net, subnet)
        bench.policy()
        results["qos"] = bench.rounds(guest, args.changes)
        results["load_after_changes"] = os.getloadavg()
        if args.iperf_seconds:
            other = guests.guest("g1", net, subnet)
            results["iperf3"] = bench.iperf(guest, other, args.iperf_seconds)
        detach = bench.attach(guest, None)
        results["qos"]["detach_policy_to_tbf_gone_ms"] = ms(detach[0])
        results["qos"]["detach_policy_to_nft_gone_ms"] = ms(detach[1])
    finally:
        if guest is not None and bench.policy_id:  # a port using it keeps the policy
            body = {"port": {"qos_policy_id": None}}
            api.call("PUT", f"/ports/{guest.port['id']}", body, ok=(200, 404))
        guests.close()
        results["load_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
