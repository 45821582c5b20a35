"""Validation of subnet attributes: CIDR, gateway, allocation pools, DNS, routes, IPv6 modes."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from tinystack.common.exceptions import BadRequest
from tinystack.network import ipam
from tinystack.network.exception import conflict, invalid_input

IPV6_MODES = ("slaac", "dhcpv6-stateful", "dhcpv6-stateless")


def check_version(ip_version: Any) -> int:
    if ip_version not in (4, 6) or isinstance(ip_version, bool):
        raise invalid_input(f"'{ip_version}' is not in [4, 6]")
    return int(ip_version)


def check_cidr(cidr: Any, ip_version: int) -> ipam.IPNetwork:
    try:
        net = ipaddress.ip_network(str(cidr), strict=False)
    except ValueError:
        raise invalid_input(f"'{cidr}' is not a valid IP subnet") from None
    # Neutron holds only IPv4 CIDRs to their canonical spelling; an IPv6 one in any
    # spelling (leading zeros, upper case) is taken and stored canonical
    text = str(cidr)
    canonical = str(net) in (text, text.strip().lower())
    if "/" not in text or (net.version == 4 and not canonical):
        raise invalid_input(f"'{cidr}' isn't a recognized IP subnet cidr, '{net}' is recommended")
    if net.version != ip_version:
        raise invalid_input("Cidr and IP version mismatch")
    if net.prefixlen == 0:
        raise invalid_input(f"{cidr} is not allowed as a subnet CIDR")
    return net


def default_gateway(net: ipam.IPNetwork) -> str | None:
    if net.version == 6:
        return str(net.network_address)
    if net.num_addresses <= 2:
        return None
    return str(net.network_address + 1)


def check_gateway(net: ipam.IPNetwork, gateway: Any) -> str | None:
    if gateway is None:
        return None
    ip = ipam.parse_ip(gateway, "gateway_ip")
    if ip.version != net.version:
        raise invalid_input(f"Invalid IP version for gateway_ip {gateway}")
    if ip not in net:
        raise invalid_input(f"Gateway IP {gateway} is not valid on subnet {net}")
    if net.version == 4 and net.num_addresses > 2:
        if ip in (net.network_address, net.broadcast_address):
            raise invalid_input("Gateway is not valid on subnet")
    return str(ip)


def check_pools(
    net: ipam.IPNetwork, pools: Sequence[object], gateway: str | None
) -> list[dict[str, str]]:
    ranges: list[tuple[int, int, dict[str, str]]] = []
    for pool in pools:
        if not isinstance(pool, dict) or set(pool) != {"start", "end"}:
            raise invalid_input(f"Invalid data format for IP pool: '{pool}'")
        start, end = ipam.parse_ip(pool["start"]), ipam.parse_ip(pool["end"])
        clean = {"start": str(start), "end": str(end)}
        if start.version != net.version or end.version != net.version or int(start) > int(end):
            raise BadRequest(
                f"The allocation pool {clean['start']}-{clean['end']} is not valid.",
                code="InvalidAllocationPool",
            )
        if start not in net or end not in net:
            raise BadRequest(
                f"The allocation pool {clean['start']}-{clean['end']} spans beyond "
                f"the subnet cidr {net}.",
                code="OutOfBoundsAllocationPool",
            )
        reserved = [net.network_address] if net.num_addresses > 2 else []
        if net.version == 4 and net.num_addresses > 2:
            reserved.append(net.broadcast_address)
        if any(int(start) <= int(r) <= int(end) for r in reserved):
            raise BadRequest(
                f"The allocation pool {clean['start']}-{clean['end']} is not valid.",
                code="InvalidAllocationPool",
            )
        ranges.append((int(start), int(end), clean))
    ranges.sort(key=lambda r: r[0])
    for (_, end_a, a), (start_b, _, b) in zip(ranges, ranges[1:], strict=False):
        if start_b <= end_a:
            raise conflict(
                "OverlappingAllocationPools",
                f"Found overlapping allocation pools: {a['start']}-{a['end']} and "
                f"{b['start']}-{b['end']} for subnet {net}.",
            )
    if gateway is not None:
        gw = int(ipaddress.ip_address(gateway))
        for start_i, end_i, pool in ranges:
            if start_i <= gw <= end_i:
                raise conflict(
                    "GatewayConflictWithAllocationPools",
                    f"Gateway ip {gateway} conflicts with allocation pool "
                    f"{pool['start']}-{pool['end']}.",
                )
    return [r[2] for r in ranges]


def check_nameservers(values: Any, maximum: int, subnet: str = "") -> list[str]:
    if not isinstance(values, list):
        raise invalid_input(f"'{values}' is not a list")
    out: list[str] = []
    for value in values:
        ip = str(ipam.parse_ip(value))
        if ip in out:
            raise invalid_input(f"Duplicate nameserver '{value}'")
        out.append(ip)
    if len(out) > maximum:
        raise BadRequest(
            f"Unable to complete operation for {subnet or 'the subnet'}. "
            f"The number of DNS nameservers exceeds the limit {maximum}.",
            code="DNSNameServersExhausted",
        )
    return out


def check_routes(values: Any, version: int, maximum: int, subnet: str = "") -> list[dict[str, str]]:
    if not isinstance(values, list):
        raise invalid_input(f"'{values}' is not a list")
    out: list[dict[str, str]] = []
    for route in values:
        if not isinstance(route, dict) or set(route) != {"destination", "nexthop"}:
            raise invalid_input(f"Invalid data format for hostroute: '{route}'")
        dest = ipam.parse_cidr(route["destination"])
        hop = ipam.parse_ip(route["nexthop"])
        if dest.version != version or hop.version != version:
            raise invalid_input(f"Invalid IP version for host route {route}")
        clean = {"destination": str(dest), "nexthop": str(hop)}
        if clean in out:
            raise invalid_input(f"Duplicate hostroute '{route}'")
        out.append(clean)
    if len(out) > maximum:
        raise BadRequest(
            f"Unable to complete operation for {subnet or 'the subnet'}. "
            f"The number of host routes exceeds the limit {maximum}.",
            code="HostRoutesExhausted",
        )
    return out


def check_ipv6_modes(
    ra: str | None, address: str | None, net: ipam.IPNetwork
) -> tuple[str | None, str | None]:
    for name, mode in (("ipv6_ra_mode", ra), ("ipv6_address_mode", address)):
        if mode is not None and mode not in IPV6_MODES:
            raise invalid_input(f"'{mode}' is not in {list(IPV6_MODES)}")
        if mode is not None and net.version != 6:
            raise invalid_input(f"{name} set to '{mode}' with ip_version 4 is invalid")
    if ra is not None and address is not None and ra != address:
        raise invalid_input(
            f"ipv6_ra_mode set to '{ra}' with ipv6_address_mode set to '{address}' is not "
            "valid. If both attributes are set, they must be the same value"
        )
    if address in ipam.AUTO_ADDRESS_MODES or ra in ipam.AUTO_ADDRESS_MODES:
        if net.prefixlen != 64:
            raise invalid_input(
                f"Invalid CIDR {net} for IPv6 address mode. The EUI-64 address format "
                "requires the prefix to be /64"
            )
    return ra, address


def overlapping(net: ipam.IPNetwork, others: list[str]) -> str | None:
    for other in others:
        cidr = ipaddress.ip_network(other)
        if cidr.version == net.version and cidr.overlaps(net):
            return other
    return None
