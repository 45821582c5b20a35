"""Security groups as stateful iptables rules on bridged traffic (Neutron's iptables firewall).

Layout of the chains (``P`` is the configured prefix), filter table, IPv4 and IPv6:

* ``FORWARD -j P-FWD`` (the one rule added to a built-in chain);
* ``P-FWD``: per port, traffic *from* its tap (``--physdev-in``) goes to the port's
  egress chain ``P-O<port>``; then ``-j P-IN``;
* ``P-IN``: per port, traffic *to* its tap (``--physdev-out``) goes to its ingress chain
  ``P-I<port>``;
* ``P-ALLOW``: ``-j P-IN`` then ``ACCEPT``; an egress chain that lets a packet go jumps
  here, so a packet between two local guests passes the sender's egress chain first and
  the receiver's ingress chain second;
* ``P-I<port>``: established, DHCP replies, the group rules (``ACCEPT``), ``DROP``;
* ``P-O<port>``: DHCP discovery, anti-spoofing ``P-S<port>`` (source address and MAC
  must be the port's fixed IPs or allowed address pairs), no DHCP/RA server, established,
  the group rules (``-j P-ALLOW``), ``DROP``;
* rules with a remote group jump to ``P-RI<v><group>`` / ``P-RE<v><group>``, which list
  the group's member addresses, so a membership change rewrites one small chain.

Raw table: ``PREROUTING -j P-PRE`` puts each network's bridged traffic in its own
conntrack zone (``-i brq… -j CT --zone N``), so overlapping tenant addresses never share
connection tracking entries. Ports whose groups are stateless (``stateful: false``) are
not tracked at all (``CT --notrack`` for traffic from their tap and to their addresses)
and their chains have no ``ESTABLISHED`` rules: replies need rules of their own.

Ports of network devices (``network:*`` owners) and ports with port security disabled
pass unfiltered.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from tinystack.network.agents.iptables import ChainSet, TableState
from tinystack.network.payloads import AddressPair, GroupMembers, SecurityGroupRule

ETHERTYPES = {4: "IPv4", 6: "IPv6"}
PORT_PROTOCOLS = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "sctp": "sctp"}
PORT_PROTOCOLS.update({"132": "sctp", "udplite": "udplite", "136": "udplite"})
ICMP4 = {"icmp", "1"}
ICMP6 = {"ipv6-icmp", "icmpv6", "58"}
#: ICMPv6 a guest always receives: MLD query/report/done, RA, NS, NA, MLDv2 report
ICMP6_IN = (130, 131, 132, 134, 135, 136, 143)


@dataclass
class FilteredPort:
    port_id: str
    device: str
    network_id: str
    mac: str
    fixed_ips: list[str]
    allowed_address_pairs: list[AddressPair] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)
    filtered: bool = True
    #: False when the port's groups are stateless: its traffic is not tracked
    stateful: bool = True

    def networks(self, family: int) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        """The port's fixed IPs and allowed address pairs of ``family``, as networks."""
        found = [
            *self.fixed_ips,
            *(p.ip_address for p in self.allowed_address_pairs),
        ]
        nets = [ipaddress.ip_network(item, strict=False) for item in found if item]
        return [n for n in nets if n.version == family]


def trusted(device_owner: str) -> bool:
    return device_owner.startswith("network:")


def link_local(mac: str) -> str:
    """The EUI-64 IPv6 link-local address of ``mac``."""
    parts = [int(x, 16) for x in mac.split(":")]
    parts[0] ^= 0x02
    eui = parts[:3] + [0xFF, 0xFE] + parts[3:]
    groups = [f"{eui[i] << 8 | eui[i + 1]:x}" for i in range(0, 8, 2)]
    return str(ipaddress.IPv6Address("fe80::" + ":".join(groups)))


def _version(address: str) -> int:
    return ipaddress.ip_network(address, strict=False).version


def _host(address: str) -> str:
    net = ipaddress.ip_network(address, strict=False)
    return str(net)


class FirewallRules:
    """Builds the desired chains for a set of ports and their groups."""

    def __init__(self, chains: ChainSet) -> None:
        self.chains = chains
        self.c = chains.chain

    def build(
        self,
        ports: Iterable[FilteredPort],
        groups: Mapping[str, Sequence[SecurityGroupRule]],
        members: Mapping[str, GroupMembers],
        zones: Mapping[str, int],
    ) -> dict[int, dict[str, TableState]]:
        ports = sorted(ports, key=lambda p: p.device)
        out: dict[int, dict[str, TableState]] = {}
        for family in self.chains.families:
            filt = self._filter(family, ports, groups, members)
            raw = TableState(
                chains={self.c("PRE"): self._untracked(family, ports) + self._zones(zones)},
                jumps=[("PREROUTING", f"-j {self.c('PRE')}")],
            )
            out[family] = {"filter": filt, "raw": raw}
        return out

    def _untracked(self, family: int, ports: list[FilteredPort]) -> list[str]:
        """Traffic from and to ports in stateless groups bypasses connection tracking
        (before the zone rules: a packet marked untracked keeps no zone)."""
        out = []
        for port in ports:
            if not port.filtered or port.stateful:
                continue
            out.append(f"-m physdev --physdev-in {port.device} -j CT --notrack")
            bridge = "brq" + port.network_id[:11]
            for ip in port.fixed_ips:
                if _version(ip) == family:
                    out.append(f"-i {bridge} -d {_host(ip)} -j CT --notrack")
        return _dedupe(out)

    def _zones(self, zones: Mapping[str, int]) -> list[str]:
        return [
            f"-i brq{net[:11]} -m comment --comment net-{net[:11]} -j CT --zone {zone}"
            for net, zone in sorted(zones.items())
        ]

    def _filter(
        self,
        family: int,
        ports: list[FilteredPort],
        groups: Mapping[str, Sequence[SecurityGroupRule]],
        members: Mapping[str, GroupMembers],
    ) -> TableState:
        c = self.c
        fwd, inbound = c("FWD"), c("IN")
        chains: dict[str, list[str]] = {fwd: [], inbound: [], c("ALLOW"): []}
        chains[c("ALLOW")] = [f"-j {inbound}", "-j ACCEPT"]
        used_remote: set[tuple[str, str]] = set()
        for port in ports:
            dev = port.device
            phys_in = f"-m physdev --physdev-in {dev} --physdev-is-bridged"
            phys_out = f"-m physdev --physdev-out {dev} --physdev-is-bridged"
            if not port.filtered:
                chains[fwd].append(f"{phys_in} -j {c('ALLOW')}")
                chains[inbound].append(f"{phys_out} -j ACCEPT")
                continue
            key = port.port_id[:11]
            ingress, egress, spoof = c("I" + key), c("O" + key), c("S" + key)
            chains[fwd].append(f"{phys_in} -j {egress}")
            chains[inbound].append(f"{phys_out} -j {ingress}")
            rules = [r for g in port.security_groups for r in groups.get(g, [])]
            chains[ingress] = self._ingress(family, rules, used_remote, port.stateful)
            chains[egress] = self._egress(family, spoof, rules, used_remote, port.stateful)
            chains[spoof] = self._spoof(family, port)
        chains[fwd].append(f"-j {inbound}")
        for direction, group in sorted(used_remote):
            ips = members.get(group, GroupMembers()).of(ETHERTYPES[family])
            name = self._remote_chain(direction, family, group)
            if direction == "ingress":
                chains[name] = [f"-s {_host(ip)} -j ACCEPT" for ip in ips]
            else:
                chains[name] = [f"-d {_host(ip)} -j {c('ALLOW')}" for ip in ips]
        return TableState(chains=chains, jumps=[("FORWARD", f"-j {fwd}")])

    def _remote_chain(self, direction: str, family: int, group: str) -> str:
        return self.c(("RI" if direction == "ingress" else "RE") + str(family) + group[:12])

    def _ingress(
        self,
        family: int,
        rules: list[SecurityGroupRule],
        used: set[tuple[str, str]],
        stateful: bool = True,
    ) -> list[str]:
        out = ["-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"] if stateful else []
        if family == 4:
            out.append("-p udp -m udp --sport 67 --dport 68 -j ACCEPT")
        else:
            out += [f"-p ipv6-icmp -m icmp6 --icmpv6-type {t} -j ACCEPT" for t in ICMP6_IN]
            out.append("-p udp -m udp --sport 547 --dport 546 -j ACCEPT")
        if stateful:
            out.append("-m conntrack --ctstate INVALID -j DROP")
        for rule in rules:
            if rule.direction != "ingress":
                continue
            match = rule_match(rule, family, "-s")
            if match is None:
                continue
            group = rule.remote_group_id
            if group:
                used.add(("ingress", group))
                out.append(f"{match}-j {self._remote_chain('ingress', family, group)}".strip())
            else:
                out.append(f"{match}-j ACCEPT".strip())
        out.append("-j DROP")
        return _dedupe(out)

    def _egress(
        self,
        family: int,
        spoof: str,
        rules: list[SecurityGroupRule],
        used: set[tuple[str, str]],
        stateful: bool = True,
    ) -> list[str]:
        allow = self.c("ALLOW")
        if family == 4:
            out = [
                f"-s 0.0.0.0/32 -d 255.255.255.255/32 -p udp -m udp --sport 68 --dport 67 "
                f"-j {allow}",
                f"-j {spoof}",
                f"-p udp -m udp --sport 68 --dport 67 -j {allow}",
                "-p udp -m udp --sport 67 --dport 68 -j DROP",
            ]
        else:
            out = [
                f"-s ::/128 -d ff02::/16 -p ipv6-icmp -m icmp6 --icmpv6-type {t} -j {allow}"
                for t in (131, 135, 143)
            ]
            out += [
                f"-j {spoof}",
                "-p ipv6-icmp -m icmp6 --icmpv6-type 134 -j DROP",
                f"-p ipv6-icmp -j {allow}",
                f"-p udp -m udp --sport 546 --dport 547 -j {allow}",
                "-p udp -m udp --sport 547 --dport 546 -j DROP",
            ]
        if stateful:
            out += [
                f"-m conntrack --ctstate RELATED,ESTABLISHED -j {allow}",
                "-m conntrack --ctstate INVALID -j DROP",
            ]
        for rule in rules:
            if rule.direction != "egress":
                continue
            match = rule_match(rule, family, "-d")
            if match is None:
                continue
            group = rule.remote_group_id
            if group:
                used.add(("egress", group))
                out.append(f"{match}-j {self._remote_chain('egress', family, group)}".strip())
            else:
                out.append(f"{match}-j {allow}".strip())
        out.append("-j DROP")
        return _dedupe(out)

    def _spoof(self, family: int, port: FilteredPort) -> list[str]:
        pairs: list[tuple[str, str]] = [(ip, port.mac) for ip in port.fixed_ips]
        if family == 6:
            pairs.append((link_local(port.mac), port.mac))
        for pair in port.allowed_address_pairs:
            if pair.ip_address:
                pairs.append((pair.ip_address, pair.mac_address or port.mac))
        out = [
            f"-s {_host(ip)} -m mac --mac-source {mac.lower()} -j RETURN"
            for ip, mac in pairs
            if _version(ip) == family
        ]
        out.append("-j DROP")
        return _dedupe(out)


def rule_match(rule: SecurityGroupRule, family: int, remote_flag: str) -> str | None:
    """The iptables match of a group rule (ending with a space), or None if not for
    ``family``."""
    if rule.ethertype != ETHERTYPES[family]:
        return None
    parts: list[str] = []
    prefix = rule.remote_ip_prefix
    if prefix:
        if _version(prefix) != family:
            return None
        if ipaddress.ip_network(prefix, strict=False).prefixlen:
            parts += [remote_flag, _host(prefix)]
    proto = rule.protocol
    low, high = rule.port_range_min, rule.port_range_max
    if proto is not None and str(proto).lower() not in ("any", ""):
        name = str(proto).lower()
        if name in ICMP4 | ICMP6:
            if family == 4 and name in ICMP6:
                return None
            name = "icmp" if family == 4 else "ipv6-icmp"
        name = PORT_PROTOCOLS.get(name, name)
        parts += ["-p", name]
        if name in PORT_PROTOCOLS.values():
            if low is not None:
                ports = str(low) if high in (None, low) else f"{low}:{high}"
                parts += ["-m", name, "--dport", ports]
        elif name in ("icmp", "ipv6-icmp") and low is not None:
            icmp = str(low) if high is None else f"{low}/{high}"
            if family == 4:
                parts += ["-m", "icmp", "--icmp-type", icmp]
            else:
                parts += ["-m", "icmp6", "--icmpv6-type", icmp]
    return " ".join(parts) + " " if parts else ""


def _dedupe(rules: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for rule in rules:
        if rule not in seen:
            seen.add(rule)
            out.append(rule)
    return out
