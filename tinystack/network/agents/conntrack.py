"""Ending the connections a security group change no longer allows.

The port chains accept ``RELATED,ESTABLISHED`` traffic before any group rule, so
without this a connection opened while a rule allowed it would outlive the rule (as
Neutron's ``ip_conntrack`` manager prevents). After each firewall update the L2 agent
compares, per port, IP version and direction, the rules that applied before and after
(a remote group's member addresses count as rules of the ports that use the group);
where one went away, the connection tracking entries of that port are deleted from its
network's conntrack zone: for ingress, connections *to* the port's addresses, for
egress, connections *from* them. The next packet of a connection that is still allowed
is tracked anew by the rules (TCP is picked up mid-stream); one that is not is dropped.

Entries are dumped (once per IP version and update) and deleted over ctnetlink
(pyroute2's ``Conntrack``) in the agent's namespace (:func:`forget_where`, which the
L3 agent's FWaaS uses too, in a router's namespace, judging each entry's
:class:`Flow`). Only rules that went away matter: a port that appears, stops being
filtered or gains rules loses nothing, and after an agent restart the first update
compares against nothing.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pyroute2 import Conntrack
from pyroute2.netlink.exceptions import NetlinkError

from tinystack.network.agents import ip_lib
from tinystack.network.agents.firewall import FilteredPort
from tinystack.network.agents.iptables import TableState

LOG = logging.getLogger(__name__)
INGRESS, EGRESS = "ingress", "egress"
#: (port id, IP version, direction)
FlowKey = tuple[str, int, str]
FAMILIES = {4: socket.AF_INET, 6: socket.AF_INET6}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def port_rules(
    desired: Mapping[int, Mapping[str, TableState]],
    ports: Iterable[FilteredPort],
    chain: Callable[[str], str],
) -> dict[FlowKey, frozenset[str]]:
    """The rules each filtered port's ingress and egress chains hold in ``desired``,
    with the member addresses of the remote groups they jump to."""
    remote = (chain("RI"), chain("RE"))
    out: dict[FlowKey, frozenset[str]] = {}
    for family, tables in desired.items():
        filt = tables.get("filter")
        if filt is None:
            continue
        chains = filt.chains
        for port in ports:
            if not port.filtered:
                continue
            key = port.port_id[:11]
            for direction, name in ((INGRESS, chain("I" + key)), (EGRESS, chain("O" + key))):
                rules: set[str] = set()
                for rule in chains.get(name, []):
                    rules.add(rule)
                    target = rule.rsplit("-j ", 1)[-1]
                    if target.startswith(remote):
                        rules.update(f"{rule} | {member}" for member in chains.get(target, []))
                out[(port.port_id, family, direction)] = frozenset(rules)
    return out


def revoked(
    before: Mapping[FlowKey, frozenset[str]], after: Mapping[FlowKey, frozenset[str]]
) -> list[FlowKey]:
    """The flows of ports still filtered that lost at least one rule."""
    return sorted(key for key, rules in after.items() if key in before and before[key] - rules)


def port_addresses(port: FilteredPort, family: int) -> set[str]:
    """The port's host addresses of ``family`` (fixed IPs and single-address pairs)."""
    return {str(n.network_address) for n in port.networks(family) if n.num_addresses == 1}


#: an entry to end: (zone, "daddr" or "saddr" of its original direction, address)
Target = tuple[int, str, Any]


def forget(namespace: str | None, family: int, targets: Iterable[Target]) -> int:
    """Delete the entries of ``family`` matching any of ``targets`` (one dump of the
    table, however many targets); returns how many were deleted."""
    wanted = {(zone, field, ipaddress.ip_address(address)) for zone, field, address in targets}
    if not wanted:
        return 0

    def matches(entry: Any) -> bool:
        zone = entry.zone or 0
        orig = entry.tuple_orig
        return any((zone, f, _address(orig, f)) in wanted for f in ("daddr", "saddr"))

    return forget_where(namespace, family, matches)


def forget_where(namespace: str | None, family: int, doomed: Callable[[Any], bool]) -> int:
    """Delete the entries of ``family`` (pyroute2 ``ConntrackEntry``) for which
    ``doomed`` is true, from one dump of the table; returns how many were deleted."""

    def work() -> int:
        with contextlib.closing(Conntrack(nfgen_family=FAMILIES[family])) as ct:
            gone = 0
            for orig, zone in [(e.tuple_orig, e.zone or 0) for e in ct.dump_entries() if doomed(e)]:
                try:
                    ct.entry("del", tuple_orig=orig, zone=zone)
                    gone += 1
                except NetlinkError as exc:
                    if exc.code != errno.ENOENT:  # it ended on its own meanwhile
                        raise
            return gone

    return ip_lib.in_namespace(namespace, work)


@dataclass(frozen=True)
class Flow:
    """A tracked connection's first packet as a router's filter table saw it in
    ``FORWARD``: after destination NAT (the reply's source), before source NAT (the
    original source)."""

    proto: int
    src: IPAddress
    dst: IPAddress
    sport: int | None = None
    dport: int | None = None

    @classmethod
    def forwarded(cls, entry: Any) -> Flow | None:
        """The flow of a pyroute2 ``ConntrackEntry`` (None without both addresses)."""
        orig, reply = entry.tuple_orig, entry.tuple_reply
        src, dst = _address(orig, "saddr"), _address(reply, "saddr")
        if src is None or dst is None:
            return None
        return cls(orig.proto or 0, src, dst, orig.sport, reply.sport)


def _address(orig: Any, field: str) -> IPAddress | None:
    value = getattr(orig, field, None)
    try:
        return ipaddress.ip_address(value) if value else None
    except ValueError:
        return None


def forget_revoked(
    namespace: str | None,
    keys: Iterable[FlowKey],
    ports: Iterable[FilteredPort],
    zones: Mapping[str, int],
) -> int:
    """:func:`forget` the revoked flows of ``ports``: ingress ends connections *to* the
    port's addresses, egress those *from* them. Failures are logged, not raised (the
    rules are already in place)."""
    by_id = {p.port_id: p for p in ports}
    targets: dict[int, set[Target]] = {}
    for port_id, family, direction in keys:
        port = by_id.get(port_id)
        if port is None or port.network_id not in zones:
            continue
        field = "daddr" if direction == INGRESS else "saddr"
        zone = zones[port.network_id]
        targets.setdefault(family, set()).update(
            (zone, field, address) for address in port_addresses(port, family)
        )
    total = 0
    for family, wanted in sorted(targets.items()):
        try:
            total += forget(namespace, family, wanted)
        except (NetlinkError, OSError):
            LOG.exception("cannot delete the conntrack entries of IPv%d ports", family)
    return total
