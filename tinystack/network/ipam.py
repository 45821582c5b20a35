"""IP address management: allocation pools and address allocation without duplicates.

An address belongs to a port once its ``ip_allocations`` row (primary key:
subnet, address) is inserted inside the port's write transaction, so two
transactions can never hold the same address. Any free address is chosen at
random (as upstream does): a few random probes usually succeed at once even in
a large, busy subnet; when they do not, the free addresses are computed from
the allocated ones and tried in a random order. On MariaDB/PostgreSQL a
concurrent insert of the same address fails its savepoint and the next
candidate is tried; on SQLite writers are serialized, so the check is enough.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.network import models
from tinystack.network.exception import invalid_input, ip_already_allocated

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AUTO_ADDRESS_MODES = ("slaac", "dhcpv6-stateless")
ROUTER_OWNERS = (
    "network:router_interface",
    "network:router_gateway",
    "network:router_interface_distributed",
    "network:ha_router_replicated_interface",
)
#: random probes before computing the free set
PROBES = 6
#: free candidates tried in random order per scan (as upstream's window)
WINDOW = 1000


def parse_ip(value: object, field: str = "ip_address") -> IPAddress:
    try:
        return ipaddress.ip_address(str(value))
    except ValueError:
        raise invalid_input(f"'{value}' is not a valid IP address") from None


def parse_cidr(value: object, strict: bool = False) -> IPNetwork:
    try:
        return ipaddress.ip_network(str(value), strict=strict)
    except ValueError:
        raise invalid_input(f"'{value}' is not a valid IP subnet") from None


@dataclass(frozen=True)
class Range:
    first: int
    last: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1


def pool_ranges(pools: list[dict[str, str]]) -> list[Range]:
    return [Range(int(parse_ip(p["start"])), int(parse_ip(p["end"]))) for p in pools]


def default_pools(cidr: str, gateway_ip: str | None) -> list[dict[str, str]]:
    """The whole subnet minus network/broadcast (IPv4), subnet-router (IPv6) and gateway."""
    net = ipaddress.ip_network(cidr)
    first, last = int(net.network_address), int(net.broadcast_address)
    if first != last:
        if net.version == 4 and net.prefixlen <= 30:
            first, last = first + 1, last - 1
        elif net.version == 6:
            first += 1
    ranges = [Range(first, last)]
    if gateway_ip:
        gw = int(ipaddress.ip_address(gateway_ip))
        ranges = [part for r in ranges for part in _remove(r, gw)]
    return [_pool(net.version, r) for r in ranges]


def _remove(r: Range, value: int) -> list[Range]:
    if not r.first <= value <= r.last:
        return [r]
    parts = []
    if r.first < value:
        parts.append(Range(r.first, value - 1))
    if value < r.last:
        parts.append(Range(value + 1, r.last))
    return parts


def _pool(version: int, r: Range) -> dict[str, str]:
    return {"start": str(_addr(version, r.first)), "end": str(_addr(version, r.last))}


def _addr(version: int, value: int) -> IPAddress:
    return ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value)


def pool_size(pools: list[dict[str, str]]) -> int:
    return sum(r.size for r in pool_ranges(pools))


def valid_for_subnet(cidr: str, ip: IPAddress, device_owner: str = "") -> bool:
    """Whether ``ip`` may be a port's address on the subnet (upstream's rule)."""
    net = ipaddress.ip_network(cidr)
    if ip.version != net.version or ip not in net:
        return False
    if net.version == 4:
        return net.num_addresses <= 2 or ip not in (net.network_address, net.broadcast_address)
    return device_owner in (*ROUTER_OWNERS, "") or ip != net.network_address


def is_auto_address(subnet: models.Subnet) -> bool:
    return subnet.ip_version == 6 and subnet.ipv6_address_mode in AUTO_ADDRESS_MODES


def eui64(cidr: str, mac: str) -> str:
    """The SLAAC address of ``mac`` in the /64 ``cidr``."""
    net = ipaddress.ip_network(cidr)
    octets = [int(x, 16) for x in mac.split(":")]
    octets[0] ^= 0x02
    iid = bytes(octets[:3] + [0xFF, 0xFE] + octets[3:])
    return str(ipaddress.IPv6Address(int(net.network_address) | int.from_bytes(iid, "big")))


class Allocator:
    """Allocates addresses of one subnet inside the caller's write transaction."""

    def __init__(self, session: Session, *, serialized: bool) -> None:
        self.session = session
        #: True on SQLite, where no other writer can run concurrently
        self.serialized = serialized

    def _taken(self, subnet_id: str, ip: str) -> bool:
        return self.session.get(models.IPAllocation, (subnet_id, ip)) is not None

    def _insert(self, subnet: models.Subnet, ip: str, port_id: str) -> bool:
        row = models.IPAllocation(
            subnet_id=subnet.id, ip_address=ip, port_id=port_id, network_id=subnet.network_id
        )
        if self.serialized:
            if self._taken(subnet.id, ip):
                return False
            self.session.add(row)
            self.session.flush()
            return True
        try:
            with self.session.begin_nested():
                self.session.add(row)
                self.session.flush()
        except IntegrityError:  # taken by a concurrent transaction
            return False
        return True

    def allocate_specific(self, subnet: models.Subnet, ip: str, port_id: str) -> str:
        if not self._insert(subnet, ip, port_id):
            raise ip_already_allocated(ip, subnet.id)
        return ip

    def allocate_any(self, subnet: models.Subnet, port_id: str) -> str | None:
        """A free address of the subnet's pools, or None when the pools are exhausted."""
        ranges = pool_ranges(subnet.allocation_pools)
        total = sum(r.size for r in ranges)
        if total == 0:
            return None
        for _ in range(min(PROBES, total)):
            ip = str(_addr(subnet.ip_version, _nth(ranges, random.randrange(total))))
            if not self._taken(subnet.id, ip) and self._insert(subnet, ip, port_id):
                return ip
        while True:
            candidates = self._free(subnet, ranges)
            if not candidates:
                return None
            random.shuffle(candidates)
            for value in candidates:
                ip = str(_addr(subnet.ip_version, value))
                if self._insert(subnet, ip, port_id):
                    return ip
            # every candidate was taken concurrently: look again

    def _free(self, subnet: models.Subnet, ranges: list[Range]) -> list[int]:
        used = {
            int(ipaddress.ip_address(ip))
            for ip in self.session.scalars(
                select(models.IPAllocation.ip_address).where(
                    models.IPAllocation.subnet_id == subnet.id
                )
            )
        }
        free: list[int] = []
        for value in _iter_ranges(ranges):
            if value not in used:
                free.append(value)
                if len(free) >= WINDOW:
                    break
        return free

    def release(self, port_id: str, subnet_ids: set[str] | None = None) -> None:
        stmt = select(models.IPAllocation).where(models.IPAllocation.port_id == port_id)
        for row in self.session.scalars(stmt):
            if subnet_ids is None or row.subnet_id in subnet_ids:
                self.session.delete(row)


def _nth(ranges: list[Range], index: int) -> int:
    for r in ranges:
        if index < r.size:
            return r.first + index
        index -= r.size
    raise IndexError(index)


def _iter_ranges(ranges: list[Range]) -> Iterator[int]:
    for r in ranges:
        yield from range(r.first, r.last + 1)


def overlaps(a: IPNetwork, b: IPNetwork) -> bool:
    """Whether two networks share addresses (False across IP versions)."""
    return a.version == b.version and a.overlaps(b)


def subnet_of(a: IPNetwork, b: IPNetwork) -> bool:
    """Whether ``a`` lies within ``b`` (False across IP versions)."""
    return a.version == b.version and a.subnet_of(b)  # type: ignore[arg-type]


def collapse(nets: list[IPNetwork]) -> list[IPNetwork]:
    """The smallest list of networks covering exactly the same addresses."""
    out: list[IPNetwork] = []
    for version in (4, 6):
        same: list[Any] = [n for n in nets if n.version == version]
        out.extend(ipaddress.collapse_addresses(same))
    return out
