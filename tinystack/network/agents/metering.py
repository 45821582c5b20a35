"""Metering labels on a router's external gateway: counting chains in the filter table
of its namespace, read and zeroed per report, sent as ``l3.meter`` notifications.

Each label that applies to the router (its project's, or shared) gets two chains per IP
family: ``meter-r<label>`` holds the label's rules on the gateway device (``ingress``:
``-i qg-…`` from ``remote_ip_prefix``; ``egress``: ``-o qg-…`` to it; or the rule's
source/destination prefixes), the ``excluded`` ones first as ``RETURN``, the others
jumping to ``meter-l<label>``, whose one empty rule counts the packets and bytes that
reach it. ``FORWARD`` jumps to every ``meter-r`` chain before the FWaaS chains (traffic
a firewall drops on an interface was still carried by the gateway).

The L3 agent owns the whole filter table and writes it with the FWaaS chains in one
``iptables-restore`` per family (:func:`tinystack.network.agents.fwaas.apply`); a rewrite
resets the counters, so :class:`Meter` reads them first and carries them over to the
next report. A restarted agent writes the same chains again (its counters start at 0).
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tinystack.common.rpc.payload import JSON
from tinystack.network.agents.ip_lib import CommandError, execute
from tinystack.network.agents.iptables import TableState
from tinystack.network.payloads import MeteringLabel, MeteringRule

LOG = logging.getLogger(__name__)
PREFIX = "meter"
EVENT_TYPE = "l3.meter"


def label_chain(label_id: str) -> str:
    return f"{PREFIX}-l{label_id[:11]}"


def rules_chain(label_id: str) -> str:
    return f"{PREFIX}-r{label_id[:11]}"


def _family(rule: MeteringRule) -> int:
    prefix = rule.remote_ip_prefix or rule.source_ip_prefix or rule.destination_ip_prefix
    return ipaddress.ip_network(str(prefix)).version


def match_args(rule: MeteringRule, gw_dev: str) -> str:
    """The iptables match of one rule on the gateway device."""
    args = ["-i" if rule.direction == "ingress" else "-o", gw_dev]
    if rule.remote_ip_prefix:
        args += ["-s" if rule.direction == "ingress" else "-d", rule.remote_ip_prefix]
    if rule.source_ip_prefix:
        args += ["-s", rule.source_ip_prefix]
    if rule.destination_ip_prefix:
        args += ["-d", rule.destination_ip_prefix]
    return " ".join(args)


def table_state(labels: tuple[MeteringLabel, ...], gw_dev: str | None, family: int) -> TableState:
    """The metering chains and ``FORWARD`` jumps of one family (none without a gateway)."""
    state = TableState()
    if gw_dev is None:
        return state
    for label in sorted(labels, key=lambda m: m.id):
        mine = [r for r in label.rules if _family(r) == family]
        counted, rules = label_chain(label.id), rules_chain(label.id)
        excluded = [f"{match_args(r, gw_dev)} -j RETURN" for r in mine if r.excluded]
        included = [f"{match_args(r, gw_dev)} -j {counted}" for r in mine if not r.excluded]
        state.chains[rules] = excluded + included
        state.chains[counted] = [""]
        state.jumps.append(("FORWARD", f"-j {rules}"))
    return state


def parse_counters(listing: str) -> tuple[int, int]:
    """Packets and bytes of the first rule of an ``iptables -L -n -v -x`` listing."""
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            return int(parts[0]), int(parts[1])
    return 0, 0


def read(namespace: str, label_ids: list[str], zero: bool) -> dict[str, tuple[int, int]]:
    """Each label's counters in the namespace (both families), zeroed when ``zero``."""
    out: dict[str, tuple[int, int]] = {}
    for label_id in label_ids:
        pkts = octets = 0
        chain = label_chain(label_id)
        for binary in ("iptables", "ip6tables"):
            cmd = [binary, "-w", "-t", "filter", "-L", chain, "-n", "-v", "-x"]
            try:
                found = parse_counters(execute(cmd + (["-Z"] if zero else []), namespace=namespace))
            except CommandError:  # the chain is not there (yet)
                continue
            pkts, octets = pkts + found[0], octets + found[1]
        out[label_id] = (pkts, octets)
    return out


@dataclass
class _Counter:
    project_id: str
    first_update: int
    pkts: int = 0
    bytes: int = 0
    last_update: int = field(default_factory=lambda: int(time.time()))


class Meter:
    """Per-label totals of one host's routers between two reports."""

    def __init__(self, host: str, emit: Callable[[str, dict[str, JSON]], None]) -> None:
        self.host = host
        self.emit = emit
        self.counters: dict[str, _Counter] = {}
        #: when the counters being summed started (the last report)
        self.since = int(time.time())
        #: router id -> the labels written in its namespace
        self.applied: dict[str, tuple[MeteringLabel, ...]] = {}

    def _add(self, label: MeteringLabel, pkts: int, octets: int) -> None:
        counter = self.counters.setdefault(label.id, _Counter(label.project_id, self.since))
        counter.pkts += pkts
        counter.bytes += octets
        counter.last_update = int(time.time())

    def collect(self, router_id: str, namespace: str) -> None:
        """Read and zero a router's label counters into the totals (before its chains
        are rewritten or removed, and at each report)."""
        labels = self.applied.get(router_id, ())
        if not labels:
            return
        found = read(namespace, [m.id for m in labels], zero=True)
        for label in labels:
            self._add(label, *found.get(label.id, (0, 0)))

    def report(self, namespaces: dict[str, str]) -> None:
        """Collect every router's counters and send one ``l3.meter`` per label."""
        for router_id, namespace in namespaces.items():
            try:
                self.collect(router_id, namespace)
            except (CommandError, OSError):
                LOG.exception("cannot read the metering counters of router %s", router_id)
        wanted = {m.id for labels in self.applied.values() for m in labels}
        counters, self.counters = self.counters, {}
        now = int(time.time())
        self.since = now
        for label_id, counter in sorted(counters.items()):
            if label_id not in wanted and not counter.pkts:
                continue
            self.emit(
                EVENT_TYPE,
                {
                    "label_id": label_id,
                    "tenant_id": counter.project_id,
                    "pkts": counter.pkts,
                    "bytes": counter.bytes,
                    "time": now - counter.first_update,
                    "first_update": counter.first_update,
                    "last_update": counter.last_update,
                    "host": self.host,
                },
            )
