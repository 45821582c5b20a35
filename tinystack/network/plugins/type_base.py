"""The type driver interface: validating, reserving and allocating network segments.

A segment is (network type, physical network, segmentation id). Reservations
are rows of ``segment_allocations`` whose primary key makes a segment
impossible to hand out twice, even to concurrent transactions.
"""

from __future__ import annotations

import abc
import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.network import models
from tinystack.network.conf import Options
from tinystack.network.exception import invalid_input

NETWORK_TYPE = "provider:network_type"
PHYSICAL_NETWORK = "provider:physical_network"
#: free ids tried in random order by concurrent tenant allocations
WINDOW = 16
SEGMENTATION_ID = "provider:segmentation_id"


@dataclass(frozen=True)
class Segment:
    network_type: str
    physical_network: str | None = None
    segmentation_id: int | None = None

    def as_provider(self) -> dict[str, Any]:
        return {
            NETWORK_TYPE: self.network_type,
            PHYSICAL_NETWORK: self.physical_network,
            SEGMENTATION_ID: self.segmentation_id,
        }


class TypeDriver(abc.ABC):
    """One network type (flat, vlan, vxlan, local)."""

    network_type: str

    def __init__(self, opts: Options) -> None:
        self.opts = opts

    @abc.abstractmethod
    def validate_provider_segment(self, segment: Segment) -> None:
        """Raise a 400 error when an admin-requested segment is not valid for this type."""

    @abc.abstractmethod
    def reserve_provider_segment(
        self, session: Session, segment: Segment, network_id: str
    ) -> Segment:
        """Reserve a requested segment (allocating the id when left out); 409 when taken."""

    @abc.abstractmethod
    def allocate_tenant_segment(self, session: Session, network_id: str) -> Segment | None:
        """A free segment for a tenant network, or None when this type has none left."""

    @abc.abstractmethod
    def get_mtu(self, physical_network: str | None) -> int:
        """The largest MTU a network of this type on that physical network can carry."""

    def release_segment(self, session: Session, segment: Segment) -> None:
        """Give the segment back (also done by deleting the network's rows)."""
        session.execute(
            delete(models.SegmentAllocation).where(
                models.SegmentAllocation.network_type == segment.network_type,
                models.SegmentAllocation.physical_network == (segment.physical_network or ""),
                models.SegmentAllocation.segmentation_id == (segment.segmentation_id or 0),
            )
        )

    def physnet_mtu(self, physical_network: str | None) -> int:
        mtu = int(self.opts.global_physnet_mtu)
        for entry in self.opts.physical_network_mtus:
            name, _, value = entry.partition(":")
            if name == physical_network and value:
                mtu = int(value)
        return mtu


def claim(session: Session, segment: Segment, network_id: str) -> bool:
    """Insert the allocation row; False when another network holds the segment."""
    key = (segment.network_type, segment.physical_network or "", segment.segmentation_id or 0)
    if session.get(models.SegmentAllocation, key) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(
                models.SegmentAllocation(
                    network_type=key[0],
                    physical_network=key[1],
                    segmentation_id=key[2],
                    network_id=network_id,
                )
            )
    except IntegrityError:
        return False
    return True


def first_free(
    session: Session,
    network_type: str,
    physical_network: str,
    ranges: list[tuple[int, int]],
    network_id: str,
) -> int | None:
    """Claim a free id among the lowest free ones of ``ranges``; None when all are taken.

    Concurrent allocators pick at random among a window of the lowest free ids, so
    they rarely collide; a collision (another transaction claimed the id) just moves
    on to the next candidate. SQLite serializes writers: there the lowest id is taken.
    """
    window_size = 1 if session.get_bind().dialect.name == "sqlite" else WINDOW
    while True:
        taken = set(
            session.scalars(
                select(models.SegmentAllocation.segmentation_id).where(
                    models.SegmentAllocation.network_type == network_type,
                    models.SegmentAllocation.physical_network == physical_network,
                )
            )
        )
        window = _free_ids(ranges, taken, window_size)
        if not window:
            return None
        random.shuffle(window)
        for candidate in window:
            segment = Segment(network_type, physical_network or None, candidate)
            if claim(session, segment, network_id):
                return candidate


def _free_ids(ranges: list[tuple[int, int]], taken: set[int], limit: int) -> list[int]:
    out: list[int] = []
    for lo, hi in ranges:
        value = lo
        while value <= hi and len(out) < limit:
            if value not in taken:
                out.append(value)
            value += 1
    return out


def parse_range(entry: str, low: int, high: int, what: str) -> tuple[int, int]:
    try:
        first, last = (int(x) for x in entry.split(":"))
    except ValueError:
        raise ValueError(f"invalid {what} range {entry!r}: expected min:max") from None
    if not low <= first <= last <= high:
        raise ValueError(f"invalid {what} range {entry!r}: must be within {low}-{high}")
    return first, last


def require(condition: bool, message: str) -> None:
    if not condition:
        raise invalid_input(message)
