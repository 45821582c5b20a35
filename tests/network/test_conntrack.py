"""Which connections a firewall update ends (pure: no kernel needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tinystack.network.agents import conntrack
from tinystack.network.agents.firewall import FilteredPort, FirewallRules
from tinystack.network.agents.iptables import ChainSet
from tinystack.network.payloads import AddressPair, GroupMembers, SecurityGroupRule

A, B = "aaaaaaaa-1111", "bbbbbbbb-2222"


def rules_of(
    groups: Mapping[str, Sequence[SecurityGroupRule]],
    members: dict[str, GroupMembers],
    group_of_a: str = "g",
    group_of_b: str = "g",
) -> Any:
    ports = [
        FilteredPort(A, "tapa", "net1", "fa:16:3e:00:00:0a", ["10.0.0.10"], [], [group_of_a]),
        FilteredPort(B, "tapb", "net1", "fa:16:3e:00:00:0b", ["10.0.0.11"], [], [group_of_b]),
    ]
    chains = ChainSet("tst")
    desired = FirewallRules(chains).build(ports, groups, members, {"net1": 7})
    return conntrack.port_rules(desired, ports, chains.chain)


def rule(direction: str, **extra: Any) -> SecurityGroupRule:
    return SecurityGroupRule(id="r", security_group_id="g", direction=direction, **extra)


def test_only_lost_rules_revoke_and_only_for_their_direction() -> None:
    ssh = rule("ingress", protocol="tcp", port_range_min=22, port_range_max=22)
    out = rule("egress")
    before = rules_of({"g": [ssh, out]}, {})
    assert conntrack.revoked(before, before) == []
    # gaining a rule ends nothing
    icmp = rule("ingress", protocol="icmp")
    more = rules_of({"g": [ssh, out, icmp]}, {})
    assert conntrack.revoked(before, more) == []
    # losing the ssh rule ends both ports' ingress flows, not their egress
    less = rules_of({"g": [out]}, {})
    assert conntrack.revoked(before, less) == [(A, 4, "ingress"), (B, 4, "ingress")]
    # a flow seen for the first time (agent restart) has nothing to lose
    assert conntrack.revoked({}, less) == []


def test_a_member_leaving_a_remote_group_revokes_the_ports_using_it() -> None:
    from_g = rule("ingress", remote_group_id="g")
    groups = {"g": [from_g], "other": []}
    both = rules_of(groups, {"g": GroupMembers(ipv4=("10.0.0.10", "10.0.0.99"))}, "g", "other")
    one = rules_of(groups, {"g": GroupMembers(ipv4=("10.0.0.10",))}, "g", "other")
    assert conntrack.revoked(both, one) == [(A, 4, "ingress")]
    assert conntrack.revoked(one, both) == []


def test_port_addresses_are_host_addresses_of_the_family() -> None:
    port = FilteredPort(
        "p",
        "tapp",
        "n",
        "fa:16:3e:00:00:01",
        ["10.0.0.5", "fd00::5"],
        allowed_address_pairs=[AddressPair("10.0.0.6/32"), AddressPair("10.1.0.0/24")],
    )
    assert conntrack.port_addresses(port, 4) == {"10.0.0.5", "10.0.0.6"}
    assert conntrack.port_addresses(port, 6) == {"fd00::5"}
