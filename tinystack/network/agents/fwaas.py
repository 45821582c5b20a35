"""FWaaS v2 on router interfaces: iptables chains in the router's namespace.

Each interface port in a firewall group gets two chains per IP family in the filter
table, ``fwaas-i<port>`` (ingress: traffic leaving the router into the port's network,
``FORWARD -o qr-<port>``) and ``fwaas-o<port>`` (egress: traffic from that network,
``FORWARD -i qr-<port>``), as upstream's iptables driver places them. A chain drops
invalid packets, accepts established and related ones, drops TCP packets that would
start a connection without a SYN, then holds the policy's enabled rules in order (first
match wins: ``allow`` ACCEPT, ``deny`` DROP, ``reject`` REJECT), and drops whatever is
left; a direction without a policy drops everything new. A group with
``admin_state_up`` false drops everything on its ports.

Established connections do not outlive the rules that let them start (as upstream's
driver deletes the conntrack entries of changed rules): whenever a router's chains
changed (and after an agent restart), :func:`end_refused` judges each tracked
connection of the router's namespace by the table as it now is (its first packet as
``FORWARD`` saw it, :class:`~tinystack.network.agents.conntrack.Flow`; the interface it
came in by and went out of, from the interfaces' subnets and the extra routes) and
deletes the entries of those it would refuse; the others keep theirs. The next packet
of an ended TCP connection, from either side, is then one without a SYN and without an
entry, which the kernel would pick up mid-stream (``nf_conntrack_tcp_loose``, on by
default in every namespace) and the other direction's chain might accept (egress
allowing everything, as usual, would revive a connection ended by an ingress change):
the no-SYN rule drops it instead. Connections through a port that leaves its group are
not filtered any more and end nothing.

The agent owns the router namespace's filter table (the L3 agent's own rules are in nat
and mangle; the metering chains of :mod:`metering` are written with these), so each
apply replaces the whole table with one ``iptables-restore`` per
family, both at once: atomic, and a restarted agent writes the same table again, never
a second copy of a chain or jump.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import subprocess
from dataclasses import dataclass, field

from pyroute2.netlink.exceptions import NetlinkError

from tinystack.network.agents import conntrack
from tinystack.network.agents.conntrack import Flow, IPAddress
from tinystack.network.agents.ip_lib import CommandError
from tinystack.network.agents.iptables import TableState, binaries
from tinystack.network.payloads import FirewallMatch, RouterInfo, RouterPortFirewall

LOG = logging.getLogger(__name__)

PREFIX = "fwaas"
TARGETS = {"allow": "ACCEPT", "deny": "DROP", "reject": "REJECT"}
_STATEFUL = (
    "-m conntrack --ctstate INVALID -j DROP",
    "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    # a TCP packet without a tracked connection that is not a SYN (picked up mid-stream)
    # does not start one: a connection ended by :func:`end_refused` stays ended, from
    # whichever side its next packet comes
    "-p tcp ! --syn -m conntrack --ctstate NEW -j DROP",
)
#: protocol numbers of the rules' protocols, by IP version
PROTOCOLS = {
    4: {"tcp": socket.IPPROTO_TCP, "udp": socket.IPPROTO_UDP, "icmp": socket.IPPROTO_ICMP},
    6: {"tcp": socket.IPPROTO_TCP, "udp": socket.IPPROTO_UDP, "icmp": socket.IPPROTO_ICMPV6},
}


def match_args(rule: FirewallMatch) -> str:
    """The iptables match and target of one rule."""
    args: list[str] = []
    if rule.protocol:
        proto = "ipv6-icmp" if rule.protocol == "icmp" and rule.ip_version == 6 else rule.protocol
        args += ["-p", proto]
    if rule.source_ip_address:
        args += ["-s", rule.source_ip_address]
    if rule.destination_ip_address:
        args += ["-d", rule.destination_ip_address]
    if rule.protocol and (rule.source_port or rule.destination_port):
        args += ["-m", rule.protocol]
        if rule.source_port:
            args += ["--sport", rule.source_port]
        if rule.destination_port:
            args += ["--dport", rule.destination_port]
    args += ["-j", TARGETS[rule.action]]
    return " ".join(args)


def chain_rules(rules: tuple[FirewallMatch, ...], family: int, admin_up: bool) -> list[str]:
    if not admin_up:
        return ["-j DROP"]
    body = [match_args(r) for r in rules if r.ip_version == family]
    return [*_STATEFUL, *body, "-j DROP"]


def table(
    firewalls: tuple[RouterPortFirewall, ...], family: int, other: TableState | None = None
) -> str:
    """The whole filter table of one family, as ``iptables-restore`` reads it, with the
    ``other`` chains of the router (metering) and their jumps first."""
    other = other or TableState()
    chains: dict[str, list[str]] = dict(other.chains)
    jumps: list[str] = [f"-A {chain} {rule}" for chain, rule in other.jumps]
    for fw in sorted(firewalls, key=lambda f: f.port_id):
        dev = "qr-" + fw.port_id[:11]
        for direction, rules, flag in (("i", fw.ingress, "-o"), ("o", fw.egress, "-i")):
            name = f"{PREFIX}-{direction}{fw.port_id[:11]}"
            chains[name] = chain_rules(rules, family, fw.admin_state_up)
            jumps.append(f"-A FORWARD {flag} {dev} -j {name}")
    lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
    lines += [f":{name} - [0:0]" for name in chains]
    lines += jumps
    lines += [f"-A {name} {rule}".rstrip() for name, rules in chains.items() for rule in rules]
    return "\n".join([*lines, "COMMIT", ""])


def apply(
    namespace: str,
    firewalls: tuple[RouterPortFirewall, ...],
    other: dict[int, TableState] | None = None,
) -> dict[str, str]:
    """Make the router's filter tables exactly ``firewalls`` and the ``other`` chains of
    each family; the status each group now has (ACTIVE, or DOWN when administratively
    down)."""
    procs = []
    for family in (4, 6):
        cmd = ["ip", "netns", "exec", namespace, binaries(family)[1], "-w"]
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append((cmd, proc, table(firewalls, family, (other or {}).get(family))))
    failed = None
    for cmd, proc, script in procs:
        try:
            _out, err = proc.communicate(script, timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _out, err = proc.communicate()
        if proc.returncode != 0 and failed is None:
            failed = CommandError(cmd, proc.returncode, err)
    if failed is not None:
        raise failed
    return {fw.group_id: "ACTIVE" if fw.admin_state_up else "DOWN" for fw in firewalls}


# -- ending the connections a change refuses ---------------------------------------------

#: what decides the router's filtering: per interface port, admin state and rules
Chains = tuple[tuple[str, bool, tuple[FirewallMatch, ...], tuple[FirewallMatch, ...]], ...]


def chains_of(firewalls: tuple[RouterPortFirewall, ...]) -> Chains:
    return tuple(
        (fw.port_id, fw.admin_state_up, fw.ingress, fw.egress)
        for fw in sorted(firewalls, key=lambda f: f.port_id)
    )


@dataclass
class Interfaces:
    """Which of a router's interfaces an address is behind (the longest prefix of its
    subnets and of the extra routes via a next hop on them; None: the gateway side),
    and the router's own addresses (their connections are not forwarded)."""

    prefixes: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]]
    local: set[IPAddress] = field(default_factory=set)

    @classmethod
    def of(cls, router: RouterInfo) -> Interfaces:
        prefixes = []
        local: set[IPAddress] = set()
        for port in router.interfaces:
            prefixes += [(ipaddress.ip_network(s.cidr), port.id) for s in port.subnets]
        for route in router.routes:
            hop = ipaddress.ip_address(route.nexthop)
            via = next((p for net, p in prefixes if hop in net), None)
            if via is not None:
                prefixes.append((ipaddress.ip_network(route.destination, strict=False), via))
        for port in (*router.interfaces, *([router.gw_port] if router.gw_port else [])):
            local |= {ipaddress.ip_address(ip.ip_address) for ip in port.fixed_ips}
        local |= {ipaddress.ip_address(f.floating_ip_address) for f in router.floatingips}
        prefixes.sort(key=lambda item: -item[0].prefixlen)
        return cls(prefixes, local)

    def behind(self, address: IPAddress) -> str | None:
        return next((port for net, port in self.prefixes if address in net), None)

    def forwarded(self, flow: Flow) -> bool:
        """Whether the router forwards the flow (rather than being an end of it)."""
        ends = (flow.src, flow.dst)
        return not any(a in self.local or a.is_link_local or a.is_multicast for a in ends)


def matches(rule: FirewallMatch, flow: Flow, family: int) -> bool:
    """Whether the iptables match of ``rule`` (:func:`match_args`) takes ``flow``'s
    first packet."""
    if rule.ip_version != family:
        return False
    if rule.protocol and flow.proto != PROTOCOLS[family].get(rule.protocol):
        return False
    for cidr, address in (
        (rule.source_ip_address, flow.src),
        (rule.destination_ip_address, flow.dst),
    ):
        if cidr and address not in ipaddress.ip_network(cidr, strict=False):
            return False
    if rule.protocol:
        for ports, port in ((rule.source_port, flow.sport), (rule.destination_port, flow.dport)):
            if ports:
                low, _, high = ports.partition(":")
                if port is None or not int(low) <= port <= int(high or low):
                    return False
    return True


def allows(firewalls: tuple[RouterPortFirewall, ...], where: Interfaces, flow: Flow) -> bool:
    """Whether the router's filter table (:func:`table`) lets ``flow`` start: the first
    firewall chain its packet jumps to decides (ports in order, ingress before egress);
    no chain, no filtering."""
    family = flow.src.version
    into, out_of = where.behind(flow.dst), where.behind(flow.src)
    for fw in sorted(firewalls, key=lambda f: f.port_id):
        for rules, port in ((fw.ingress, into), (fw.egress, out_of)):
            if port != fw.port_id:
                continue
            if not fw.admin_state_up:
                return False
            first = next((r for r in rules if matches(r, flow, family)), None)
            return first is not None and first.action == "allow"
    return True


def end_refused(namespace: str, router: RouterInfo) -> int:
    """Delete the router's tracked connections that its firewall groups, as they now
    are, would not let start (a rule gone, disabled, narrowed or preceded by a denying
    one, a policy replaced or removed, a group down); those still allowed keep their
    entries. Returns how many ended; failures are logged (the chains are in place)."""
    where = Interfaces.of(router)

    def doomed(entry: object) -> bool:
        flow = Flow.forwarded(entry)
        if flow is None or not where.forwarded(flow):
            return False
        return not allows(router.firewalls, where, flow)

    ended = 0
    for family in (4, 6):
        try:
            ended += conntrack.forget_where(namespace, family, doomed)
        except (NetlinkError, OSError):
            LOG.exception("cannot end the IPv%d connections router %s refuses", family, router.id)
    return ended
