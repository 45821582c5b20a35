"""Segment rows the service modules share: a new segment's row, and the subnets a port
may take addresses from on a routed network. ORM rows never leave the service layer;
public service functions return records (``records.py``)."""

from __future__ import annotations

import ipaddress

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.exceptions import BadRequest
from tinystack.common.timeutils import new_uuid
from tinystack.network import models
from tinystack.network.exception import conflict
from tinystack.network.plugins.binding import PortBinder
from tinystack.network.plugins.type_base import Segment
from tinystack.network.services.standard_attrs import init_standard


def segment_row(
    network_id: str,
    segment: Segment,
    index: int,
    name: str | None = None,
    description: str | None = None,
) -> models.NetworkSegment:
    """A new segment row with its standard attributes (``name``/``description``: None,
    shown as null, until given)."""
    row = models.NetworkSegment(
        id=new_uuid(),
        network_id=network_id,
        network_type=segment.network_type,
        physical_network=segment.physical_network,
        segmentation_id=segment.segmentation_id,
        segment_index=index,
        name=name,
        tags=[],
    )
    init_standard(row, description)
    row.description = description
    return row


def candidate_subnets(
    session: Session,
    binder: PortBinder,
    port: models.Port,
    subnets: list[models.Subnet],
    fixed_ips: list[object] | None,
) -> list[models.Subnet]:
    """The subnets a port may take addresses from (upstream's candidate subnets): all of
    them on a network without segments; on a routed network, those named by ``fixed_ips``
    (on one segment, DHCP ports aside), else those of the segment the port's host binds
    to (none without a host: the allocation waits for the binding, as upstream defers
    it)."""
    if not any(s.segment_id for s in subnets):
        return subnets
    if fixed_ips is not None:
        if port.device_owner != "network:dhcp":
            _one_segment(subnets, fixed_ips)
        return subnets
    if not port.binding_host_id:
        return []
    rows = list(
        session.scalars(
            select(models.NetworkSegment)
            .where(models.NetworkSegment.network_id == port.network_id)
            .order_by(models.NetworkSegment.segment_index, models.NetworkSegment.id)
        )
    )
    values = [Segment(r.network_type, r.physical_network, r.segmentation_id) for r in rows]
    chosen = binder.choose_segment(session, port, values)
    ids = {r.id for r, v in zip(rows, values, strict=True) if v == chosen}
    found = [s for s in subnets if s.segment_id in ids]
    if not found:
        raise conflict(
            "HostNotConnectedToAnySegment",
            f"Host {port.binding_host_id} is not connected to any segments on routed provider "
            f"network '{port.network_id}'.  It should be connected to one.",
        )
    return found


def _one_segment(subnets: list[models.Subnet], fixed_ips: list[object]) -> None:
    by_id = {s.id: s for s in subnets}
    segments: set[str | None] = set()
    for entry in fixed_ips:
        if not isinstance(entry, dict):
            return  # port_ips refuses it
        subnet = by_id.get(str(entry.get("subnet_id")))
        if subnet is None and entry.get("ip_address") is not None:
            subnet = next((s for s in subnets if _holds(s, entry["ip_address"])), None)
        if subnet is None:
            return  # port_ips refuses it
        segments.add(subnet.segment_id)
    if len(segments) > 1:
        raise BadRequest(
            "Cannot allocate addresses from different segments.",
            code="FixedIpsSubnetsNotOnSameSegment",
        )


def _holds(subnet: models.Subnet, address: object) -> bool:
    try:
        return ipaddress.ip_address(str(address)) in ipaddress.ip_network(subnet.cidr)
    except ValueError:
        return False
