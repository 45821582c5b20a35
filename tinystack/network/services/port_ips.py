"""Fixed IPs of a port: what a request asks for, turned into allocations.

Without ``fixed_ips`` a port gets one IPv4 address (from the first IPv4 subnet
with a free one), its SLAAC/stateless address on every auto-address IPv6
subnet and one address from the first stateful IPv6 subnet; ``fixed_ips: []``
means no address. Entries name a subnet, an address, or both.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.exceptions import BadRequest
from tinystack.network import ipam, models
from tinystack.network.exception import invalid_input, ip_generation_failure


@dataclass(frozen=True)
class FixedIp:
    subnet_id: str
    ip_address: str

    def as_dict(self) -> dict[str, str]:
        return {"subnet_id": self.subnet_id, "ip_address": self.ip_address}


@dataclass(frozen=True)
class Request:
    subnet: models.Subnet
    ip_address: str | None


def parse_requests(
    subnets: list[models.Subnet],
    network_id: str,
    fixed_ips: list[Any],
    device_owner: str,
    max_ips: int,
) -> list[Request]:
    if not isinstance(fixed_ips, list):
        raise invalid_input(f"Invalid data format for fixed IP: '{fixed_ips}'")
    if len(fixed_ips) > max_ips:
        raise invalid_input("Exceeded maximum amount of fixed ips per port.")
    by_id = {s.id: s for s in subnets}
    out: list[Request] = []
    seen: set[str] = set()
    for entry in fixed_ips:
        if not isinstance(entry, dict) or not set(entry) <= {"subnet_id", "ip_address"}:
            raise invalid_input(f"Invalid data format for fixed IP: '{entry}'")
        subnet_id, raw_ip = entry.get("subnet_id"), entry.get("ip_address")
        ip = str(ipam.parse_ip(raw_ip)) if raw_ip is not None else None
        if subnet_id is not None:
            subnet = by_id.get(str(subnet_id))
            if subnet is None:
                raise invalid_input(
                    f"Failed to create port on network {network_id}, because fixed_ips "
                    f"included invalid subnet {subnet_id}"
                )
            if ip is not None and not ipam.valid_for_subnet(
                subnet.cidr, ipaddress.ip_address(ip), device_owner
            ):
                raise BadRequest(
                    f"IP address {ip} is not a valid IP for the specified subnet.",
                    code="InvalidIpForSubnet",
                )
        elif ip is not None:
            subnet = _subnet_for(subnets, ip, device_owner)
        else:
            raise invalid_input("IP allocation requires subnet_id or ip_address")
        if ip is not None:
            if ip in seen:
                raise invalid_input(f"Duplicate IP address '{ip}'")
            seen.add(ip)
            if ipam.is_auto_address(subnet) and device_owner not in ipam.ROUTER_OWNERS:
                raise invalid_input(
                    f"IPv6 address {ip} cannot be directly assigned to a port on subnet "
                    f"{subnet.id} since the subnet is configured for automatic addresses"
                )
        out.append(Request(subnet, ip))
    return out


def _subnet_for(subnets: list[models.Subnet], ip: str, device_owner: str) -> models.Subnet:
    address = ipaddress.ip_address(ip)
    for subnet in subnets:
        if ipam.valid_for_subnet(subnet.cidr, address, device_owner):
            return subnet
    raise BadRequest(
        f"IP address {ip} is not a valid IP for any of the subnets on the specified network.",
        code="InvalidIpForNetwork",
    )


def _allocate_one(
    allocator: ipam.Allocator, subnet: models.Subnet, port: models.Port
) -> FixedIp | None:
    if ipam.is_auto_address(subnet) and port.device_owner not in ipam.ROUTER_OWNERS:
        ip = ipam.eui64(subnet.cidr, port.mac_address)
        return FixedIp(subnet.id, allocator.allocate_specific(subnet, ip, port.id))
    found = allocator.allocate_any(subnet, port.id)
    return FixedIp(subnet.id, found) if found is not None else None


def allocate_default(
    allocator: ipam.Allocator, subnets: list[models.Subnet], port: models.Port
) -> list[FixedIp]:
    out: list[FixedIp] = []
    router = port.device_owner in ipam.ROUTER_OWNERS
    v4 = [s for s in subnets if s.ip_version == 4]
    stateful = [s for s in subnets if s.ip_version == 6 and not ipam.is_auto_address(s)]
    for group in (v4, stateful):
        if not group:
            continue
        for subnet in group:
            got = _allocate_one(allocator, subnet, port)
            if got is not None:
                out.append(got)
                break
        else:
            raise ip_generation_failure(port.network_id)
    if not router:
        for subnet in subnets:
            if ipam.is_auto_address(subnet):
                got = _allocate_one(allocator, subnet, port)
                if got is not None:
                    out.append(got)
    return out


def auto_addresses(
    allocator: ipam.Allocator,
    subnets: list[models.Subnet],
    port: models.Port,
    requests: list[Request],
) -> list[FixedIp]:
    """SLAAC/stateless addresses a port also gets on subnets its request did not name."""
    if not requests or port.device_owner in ipam.ROUTER_OWNERS:
        return []
    named = {r.subnet.id for r in requests}
    out = []
    for subnet in subnets:
        if ipam.is_auto_address(subnet) and subnet.id not in named:
            ip = allocator.allocate_specific(
                subnet, ipam.eui64(subnet.cidr, port.mac_address), port.id
            )
            out.append(FixedIp(subnet.id, ip))
    return out


def allocate_requested(
    allocator: ipam.Allocator, requests: list[Request], port: models.Port
) -> list[FixedIp]:
    out: list[FixedIp] = []
    for req in requests:
        if req.ip_address is not None:
            ip = allocator.allocate_specific(req.subnet, req.ip_address, port.id)
            out.append(FixedIp(req.subnet.id, ip))
            continue
        got = _allocate_one(allocator, req.subnet, port)
        if got is None:
            raise ip_generation_failure(port.network_id)
        out.append(got)
    return out


def current(session: Session, port_ids: list[str]) -> dict[str, list[FixedIp]]:
    out: dict[str, list[FixedIp]] = {pid: [] for pid in port_ids}
    if not port_ids:
        return out
    stmt = select(models.IPAllocation).where(models.IPAllocation.port_id.in_(port_ids))
    for row in session.scalars(stmt):
        out[row.port_id].append(FixedIp(row.subnet_id, row.ip_address))
    for ips in out.values():
        ips.sort(key=_order)
    return out


def _order(ip: FixedIp) -> tuple[int, int]:
    address = ipaddress.ip_address(ip.ip_address)
    return (address.version, int(address))


def update(
    session: Session,
    allocator: ipam.Allocator,
    port: models.Port,
    requests: list[Request],
) -> list[FixedIp]:
    """Make the port's addresses what ``requests`` asks for: keep, allocate, release."""
    existing = current(session, [port.id])[port.id]
    kept: list[FixedIp] = []
    todo: list[Request] = []
    for req in requests:
        match = next(
            (
                e
                for e in existing
                if e not in kept
                and e.subnet_id == req.subnet.id
                and (req.ip_address is None or e.ip_address == req.ip_address)
            ),
            None,
        )
        if match is not None:
            kept.append(match)
        else:
            todo.append(req)
    for gone in (e for e in existing if e not in kept):
        row = session.get(models.IPAllocation, (gone.subnet_id, gone.ip_address))
        if row is not None:
            session.delete(row)
    session.flush()
    added = allocate_requested(allocator, todo, port)
    return sorted([*kept, *added], key=_order)
