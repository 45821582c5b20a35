"""Which tracked connections of a router a FWaaS change ends (pure: the conntrack table
is a list of entries shaped as pyroute2 dumps them). The data plane is
tests/network_dataplane/test_fwaas.py."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from tinystack.network.agents import conntrack, fwaas
from tinystack.network.agents.conntrack import Flow
from tinystack.network.payloads import (
    FirewallMatch,
    FixedIP,
    FloatingIP,
    Route,
    RouterInfo,
    RouterPort,
    RouterPortFirewall,
    Subnet,
)

WEB, DB = "aaaaaaaaaaa-web", "bbbbbbbbbbb-db"
TCP, UDP = socket.IPPROTO_TCP, socket.IPPROTO_UDP


def _port(port_id: str, cidr: str, address: str) -> RouterPort:
    subnet = Subnet(id="s" + port_id, network_id="n" + port_id, cidr=cidr, ip_version=4)
    return RouterPort(
        id=port_id,
        network_id="n" + port_id,
        mac_address="fa:16:3e:00:00:01",
        fixed_ips=(FixedIP(subnet.id, address),),
        subnets=(subnet,),
    )


def router(*firewalls: RouterPortFirewall) -> RouterInfo:
    return RouterInfo(
        id="r",
        routes=(Route("192.168.7.0/24", "10.1.0.9"),),
        interfaces=(_port(WEB, "10.0.0.0/24", "10.0.0.1"), _port(DB, "10.1.0.0/24", "10.1.0.1")),
        gw_port=_port("ccccccccccc-gw", "203.0.113.0/24", "203.0.113.10"),
        floatingips=(FloatingIP("f", "203.0.113.20", fixed_ip_address="10.0.0.5", port_id="p"),),
        firewalls=firewalls,
    )


def group(port: str, ingress: tuple[FirewallMatch, ...], **extra: Any) -> RouterPortFirewall:
    everything = (FirewallMatch(action="allow"),)
    return RouterPortFirewall(
        port_id=port,
        group_id="g",
        status="ACTIVE",
        ingress=ingress,
        egress=extra.pop("egress", everything),
        **extra,
    )


def flow(src: str, dst: str, proto: int = TCP, sport: int = 40000, dport: int = 80) -> Flow:
    return Flow(proto, ipaddress.ip_address(src), ipaddress.ip_address(dst), sport, dport)


def allowed(info: RouterInfo, flow: Flow) -> bool:
    return fwaas.allows(info.firewalls, fwaas.Interfaces.of(info), flow)


WEB_80 = FirewallMatch(action="allow", protocol="tcp", destination_port="80")


def test_a_rule_matches_as_its_iptables_rule_does() -> None:
    web = flow("198.51.100.7", "10.0.0.5")
    assert fwaas.matches(FirewallMatch(action="deny"), web, 4)
    assert not fwaas.matches(FirewallMatch(action="allow", ip_version=6), web, 4)
    assert fwaas.matches(WEB_80, web, 4)
    assert not fwaas.matches(WEB_80, flow("198.51.100.7", "10.0.0.5", UDP), 4)
    ranged = FirewallMatch(action="allow", protocol="tcp", destination_port="79:81")
    assert fwaas.matches(ranged, web, 4)
    assert not fwaas.matches(ranged, flow("198.51.100.7", "10.0.0.5", dport=82), 4)
    by_source = FirewallMatch(action="allow", protocol="tcp", source_port="40000:40010")
    assert fwaas.matches(by_source, web, 4)
    # -s/-d with host bits set are the network, as iptables reads them
    net = FirewallMatch(action="allow", source_ip_address="198.51.100.1/24")
    assert fwaas.matches(net, web, 4)
    assert not fwaas.matches(net, flow("198.51.101.7", "10.0.0.5"), 4)
    host = FirewallMatch(action="allow", destination_ip_address="10.0.0.5")
    assert fwaas.matches(host, web, 4)
    assert not fwaas.matches(host, flow("198.51.100.7", "10.0.0.6"), 4)
    # icmp is ICMPv6 in an IPv6 rule
    ping6 = Flow(
        socket.IPPROTO_ICMPV6, ipaddress.ip_address("fd00::1"), ipaddress.ip_address("fd01::1")
    )
    assert fwaas.matches(FirewallMatch(action="allow", ip_version=6, protocol="icmp"), ping6, 6)
    assert not fwaas.matches(FirewallMatch(action="allow", ip_version=6, protocol="tcp"), ping6, 6)


def test_the_first_chain_the_packet_jumps_to_decides_by_its_first_matching_rule() -> None:
    inbound = flow("198.51.100.7", "10.0.0.5")
    # no group on the port: not filtered
    assert allowed(router(), inbound)
    assert allowed(router(group(WEB, (WEB_80,))), inbound)
    # first match wins; no match drops
    deny_first = (FirewallMatch(action="deny", protocol="tcp"), WEB_80)
    assert not allowed(router(group(WEB, deny_first)), inbound)
    assert not allowed(router(group(WEB, ())), inbound)
    assert not allowed(router(group(WEB, (WEB_80,), admin_state_up=False)), inbound)
    # the web network's egress chain decides its connections out
    outbound = flow("10.0.0.5", "198.51.100.7")
    assert allowed(router(group(WEB, ())), outbound)
    assert not allowed(router(group(WEB, (WEB_80,), egress=())), outbound)
    # east-west: the chain of the port first in order decides (web's egress lets web
    # reach db's port 22, which db's ingress chain alone would drop), as in the table
    db_in = FirewallMatch(action="allow", protocol="tcp", destination_port="5432")
    both = router(group(WEB, ()), group(DB, (db_in,)))
    assert allowed(both, flow("10.0.0.5", "10.1.0.7", dport=22))
    assert not allowed(both, flow("10.1.0.7", "10.0.0.5", dport=5432))
    # a network behind an extra route via db is db's
    assert allowed(both, flow("198.51.100.7", "192.168.7.3", dport=5432))
    assert not allowed(both, flow("198.51.100.7", "192.168.7.3", dport=22))
    assert allowed(both, flow("198.51.100.7", "192.168.8.3", dport=22))


def entry(orig: tuple[str, str, int, int], reply: tuple[str, str, int, int]) -> Any:
    def side(saddr: str, daddr: str, sport: int, dport: int) -> Any:
        return SimpleNamespace(saddr=saddr, daddr=daddr, proto=TCP, sport=sport, dport=dport)

    return SimpleNamespace(tuple_orig=side(*orig), tuple_reply=side(*reply), zone=0)


def test_a_flow_is_the_first_packet_after_dnat_before_snat() -> None:
    # to a floating IP: the filter saw the fixed address
    to_fip = entry(
        ("198.51.100.7", "203.0.113.20", 40000, 80), ("10.0.0.5", "198.51.100.7", 80, 40000)
    )
    assert Flow.forwarded(to_fip) == flow("198.51.100.7", "10.0.0.5")
    # out through SNAT: the filter saw the guest's own address
    out = entry(
        ("10.0.0.5", "198.51.100.7", 40000, 443), ("198.51.100.7", "203.0.113.10", 443, 40000)
    )
    assert Flow.forwarded(out) == flow("10.0.0.5", "198.51.100.7", dport=443)


def test_the_refused_connections_end_the_allowed_and_the_routers_own_stay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = {
        "web": entry(
            ("198.51.100.7", "203.0.113.20", 40000, 80), ("10.0.0.5", "198.51.100.7", 80, 40000)
        ),
        "ssh": entry(
            ("198.51.100.7", "203.0.113.20", 40001, 22), ("10.0.0.5", "198.51.100.7", 22, 40001)
        ),
        "out": entry(
            ("10.0.0.5", "198.51.100.7", 40002, 22), ("198.51.100.7", "203.0.113.10", 22, 40002)
        ),
        # the metadata proxy (REDIRECT to the router's own address): not forwarded
        "meta": entry(
            ("10.0.0.5", "169.254.169.254", 40003, 80), ("10.0.0.1", "10.0.0.5", 9697, 40003)
        ),
    }
    ended: list[str] = []

    def forget_where(namespace: str | None, family: int, doomed: Callable[[Any], bool]) -> int:
        assert namespace == "qrouter-r"
        gone = [name for name, e in table.items() if family == 4 and doomed(e)]
        ended.extend(gone)
        return len(gone)

    monkeypatch.setattr(conntrack, "forget_where", forget_where)
    assert fwaas.end_refused("qrouter-r", router(group(WEB, (WEB_80,)))) == 1
    assert ended == ["ssh"]
    ended.clear()
    assert fwaas.end_refused("qrouter-r", router(group(WEB, (WEB_80,), admin_state_up=False))) == 3
    assert ended == ["web", "ssh", "out"]


def test_what_decides_the_filtering_is_compared_not_the_statuses() -> None:
    active = group(WEB, (WEB_80,))
    pending = RouterPortFirewall(
        WEB, "g", "PENDING_UPDATE", ingress=(WEB_80,), egress=active.egress
    )
    assert fwaas.chains_of((active,)) == fwaas.chains_of((pending,))
    assert fwaas.chains_of((active,)) != fwaas.chains_of((group(WEB, ()),))
    # a picked-up TCP packet (no SYN, no entry: one ended) starts nothing
    rules = fwaas.chain_rules((WEB_80,), 4, True)
    assert rules.index("-p tcp ! --syn -m conntrack --ctstate NEW -j DROP") < rules.index(
        fwaas.match_args(WEB_80)
    )
