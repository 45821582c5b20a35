"""Segments (``/v2.0/segments``): the L2 pieces of a network, one row each of
``network_segments`` (the provider and multi-provider attributes of networks read the same
rows, so a segment's id is stable from the network's creation on).

A segment created here takes its segmentation id from the same type drivers and
allocation table as the network's own segments (``segment_allocations``, whose primary
key makes a double allocation impossible, even to concurrent transactions); deleting it
gives the id back. Subnets may be bound to one segment of their network (routed
networks): then every subnet of the network must be, and a segment in use by a subnet
cannot be deleted. The network's MTU must fit every segment (upstream's rule: adding a
segment whose type carries less than the network's MTU is refused).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest
from tinystack.common.timeutils import isotime
from tinystack.network import models
from tinystack.network.exception import conflict, invalid_input, not_found
from tinystack.network.plugins.type_base import Segment
from tinystack.network.services import listing
from tinystack.network.services._segment_rows import segment_row
from tinystack.network.services.authz import Check
from tinystack.network.services.networks import segments_of
from tinystack.network.services.records import SegmentRecord
from tinystack.network.services.standard_attrs import apply_given, bump, check_revision
from tinystack.network.services.tags import check_tags

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps

SPEC = listing.ListSpec(
    resource="segment",
    model=models.NetworkSegment,
    columns={
        "id": models.NetworkSegment.id,
        "network_id": models.NetworkSegment.network_id,
        "name": models.NetworkSegment.name,
        "description": models.NetworkSegment.description,
        "network_type": models.NetworkSegment.network_type,
        "physical_network": models.NetworkSegment.physical_network,
        "segmentation_id": models.NetworkSegment.segmentation_id,
        "revision_number": models.NetworkSegment.revision_number,
    },
    converters={
        "segmentation_id": listing.to_int_or_none,
        "revision_number": listing.to_int,
    },
    sortable=frozenset({"id", "network_id", "network_type", "revision_number"}),
    getters={
        "id": lambda s: s.id,
        "network_id": lambda s: s.network_id,
        "name": lambda s: s.name,
        "description": lambda s: s.description,
        "network_type": lambda s: s.network_type,
        "physical_network": lambda s: s.physical_network,
        "segmentation_id": lambda s: s.segmentation_id,
        "revision_number": lambda s: s.revision_number,
        "created_at": lambda s: isotime(s.created_at),
        "updated_at": lambda s: isotime(s.updated_at),
        "tags": lambda s: s.tags,
    },
)


@dataclass(frozen=True, slots=True)
class SegmentSpec:
    """A segment to create, as the client gave it (the API checked the types)."""

    network_id: str
    network_type: str
    physical_network: str | None = None
    segmentation_id: int | None = None
    name: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SegmentChanges:
    """An update of a segment: the attributes in ``given`` (name and description only)."""

    name: str | None = None
    description: str | None = None
    given: frozenset[str] = frozenset()


def segment_record(row: models.NetworkSegment) -> SegmentRecord:
    return SegmentRecord(
        id=row.id,
        network_id=row.network_id,
        name=row.name,
        description=row.description,
        network_type=row.network_type,
        physical_network=row.physical_network,
        segmentation_id=row.segmentation_id,
        segment_index=row.segment_index,
        created_at=row.created_at,
        updated_at=row.updated_at,
        revision_number=row.revision_number,
        tags=tuple(row.tags or ()),
    )


def _segment_row_of(session: Session, segment_id: str) -> models.NetworkSegment:
    row = session.get(models.NetworkSegment, segment_id)
    if row is None:
        raise not_found("segment", segment_id)
    return row


def check_subnet_segment(
    session: Session, network_id: str, segment_id: str | None, subnet_id: str | None = None
) -> None:
    """Upstream's rules for a subnet (``subnet_id``: an existing one being bound) on a
    network: the segment exists and belongs to the network, and the network's subnets
    are either all on segments or none is. Locks the network row first, so concurrent
    subnet creates on one network see each other's choice."""
    session.execute(
        select(models.Network.id)
        .where(models.Network.id == network_id)
        .with_for_update(key_share=True)
    )
    if segment_id is not None:
        segment = session.get(models.NetworkSegment, segment_id)
        if segment is None:
            raise not_found("segment", segment_id)
        if segment.network_id != network_id:
            raise bad_request_code(
                "NetworkIdsDontMatch",
                f"The subnet's network id, '{network_id}', doesn't match the network_id "
                f"of segment '{segment_id}'",
            )
    others = session.scalars(
        select(models.Subnet.segment_id).where(
            models.Subnet.network_id == network_id, models.Subnet.id != (subnet_id or "")
        )
    ).all()
    bound = {s is not None for s in others} | {segment_id is not None}
    if len(bound) > 1:
        raise bad_request_code(
            "SubnetsNotAllAssociatedWithSegments",
            f"All of the subnets on network '{network_id}' must either all be associated "
            "with segments or all not associated with any segment.",
        )


def check_subnet_segment_update(
    session: Session, subnet: models.Subnet, segment_id: str | None
) -> None:
    """``segment_id`` of an existing subnet (``subnet-segmentid-writable``): only from
    none to a segment, on a network with one subnet and one segment."""
    if segment_id == subnet.segment_id:
        return
    if subnet.segment_id is not None:
        raise bad_request_code(
            "SubnetSegmentAssociationChangeNotAllowed",
            "A subnet that is already associated with a segment cannot have its segment "
            "association changed.",
        )
    network_id = subnet.network_id
    check_subnet_segment(session, network_id, segment_id, subnet.id)
    subnets = session.scalar(
        select(func.count())
        .select_from(models.Subnet)
        .where(models.Subnet.network_id == network_id)
    )
    if (subnets or 0) > 1:
        raise bad_request_code(
            "SubnetsNotAllAssociatedWithSegments",
            f"All of the subnets on network '{network_id}' must either all be associated "
            "with segments or all not associated with any segment.",
        )
    if len(segments_of(session, [network_id])[network_id]) > 1:
        raise bad_request_code(
            "NoUpdateSubnetWhenMultipleSegmentsOnNetwork",
            f"The network '{network_id}' has multiple segments, it is only possible to "
            "associate an existing subnet with a segment on networks with a single segment.",
        )


def bad_request_code(code: str, message: str) -> BadRequest:
    return BadRequest(message, code=code)


def peer_routes(
    session: Session,
    network_id: str,
    deleted_cidr: str | None = None,
    old_gateways: dict[str, str | None] | None = None,
    quiet: frozenset[str] = frozenset(),
) -> None:
    """``segments-peer-subnet-host-routes``: each subnet on a segment routes to the
    subnets of the network's other segments (same IP version) through its own gateway,
    unless a route of its own already covers them. ``deleted_cidr``: a subnet just
    deleted, whose routes go; ``old_gateways``: subnet -> the gateway it had (its routes
    through the old one are replaced); ``quiet``: subnets whose revision the caller
    bumps (or just set)."""
    subnets = list(
        session.scalars(select(models.Subnet).where(models.Subnet.network_id == network_id))
    )
    if not any(s.segment_id for s in subnets):
        return
    for subnet in subnets:
        if subnet.segment_id is None:
            continue
        peers = [
            p.cidr
            for p in subnets
            if p.segment_id not in (None, subnet.segment_id) and p.ip_version == subnet.ip_version
        ]
        gone = {(deleted_cidr, subnet.gateway_ip)} if deleted_cidr else set()
        old = (old_gateways or {}).get(subnet.id, subnet.gateway_ip)
        if old != subnet.gateway_ip:
            gone |= {(cidr, old) for cidr in peers}
        routes = [
            r for r in subnet.host_routes or [] if (r["destination"], r["nexthop"]) not in gone
        ]
        if subnet.gateway_ip:
            covered = [ipaddress.ip_network(r["destination"]) for r in routes]
            for cidr in peers:
                net = ipaddress.ip_network(cidr)
                if not any(_within(net, c) for c in covered):
                    routes.append({"destination": cidr, "nexthop": subnet.gateway_ip})
                    covered.append(net)
        if routes != list(subnet.host_routes or []):
            subnet.host_routes = routes
            if subnet.id not in quiet:
                bump(subnet)


def _within(net: ipaddress.IPv4Network | ipaddress.IPv6Network, route: object) -> bool:
    """Whether a route's destination covers ``net`` (a summary route counts)."""
    if isinstance(net, ipaddress.IPv4Network) and isinstance(route, ipaddress.IPv4Network):
        return net.subnet_of(route)
    if isinstance(net, ipaddress.IPv6Network) and isinstance(route, ipaddress.IPv6Network):
        return net.subnet_of(route)
    return False


class Segments:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def list_items(self, ctx: RequestContext, query: listing.ListQuery) -> list[SegmentRecord]:
        """Every segment: the API's policy (admin only, as upstream) filters the items."""
        with self.deps.db.reader() as session:
            stmt = select(models.NetworkSegment)
            return listing.run(
                session, SPEC, stmt, query, lambda _s, rows: [segment_record(r) for r in rows]
            )

    def show(self, ctx: RequestContext, segment_id: str) -> SegmentRecord:
        with self.deps.db.reader() as session:
            return segment_record(_segment_row_of(session, segment_id))

    def create(self, ctx: RequestContext, spec: SegmentSpec) -> SegmentRecord:
        """Create a segment (the API authorized the request already): its segmentation id
        is reserved (or allocated, when not given) from the type driver's pool."""
        tags = check_tags(list(spec.tags))

        def tx(session: Session) -> SegmentRecord:
            network = session.get(models.Network, spec.network_id)
            if network is None:
                raise not_found("network", spec.network_id)
            types = self.deps.types
            wanted = Segment(spec.network_type, spec.physical_network, spec.segmentation_id)
            types.validate(wanted)
            driver = types.driver(spec.network_type)
            segment = driver.reserve_provider_segment(session, wanted, network.id)
            existing = segments_of(session, [network.id])[network.id]
            maximum = types.mtu([*existing, segment])
            if network.mtu and maximum and maximum < network.mtu:
                raise invalid_input(f"Requested MTU is too big, maximum is {maximum}")
            last = session.scalar(
                select(func.max(models.NetworkSegment.segment_index)).where(
                    models.NetworkSegment.network_id == network.id
                )
            )
            row = segment_row(
                network.id,
                segment,
                0 if last is None else last + 1,
                name=spec.name,
                description=spec.description,
            )
            row.tags = sorted(set(tags))
            session.add(row)
            session.flush()
            return segment_record(row)

        created = self.deps.db.write(tx)
        self.deps.events.network_changed(created.network_id)
        return created

    def update(
        self,
        ctx: RequestContext,
        segment_id: str,
        changes: SegmentChanges,
        check: Check[SegmentRecord],
        revision: int | None = None,
    ) -> SegmentRecord:
        def tx(session: Session) -> SegmentRecord:
            row = _segment_row_of(session, segment_id)
            check(segment_record(row))
            check_revision(row, revision)
            if apply_given(row, changes, ("name", "description")):
                bump(row)
            session.flush()
            return segment_record(row)

        return self.deps.db.write(tx)

    def delete(
        self,
        ctx: RequestContext,
        segment_id: str,
        check: Check[SegmentRecord],
        revision: int | None = None,
    ) -> None:
        """Delete a segment no subnet uses, giving its segmentation id back."""

        def tx(session: Session) -> str:
            row = _segment_row_of(session, segment_id)
            check(segment_record(row))
            check_revision(row, revision)
            subnets = session.scalars(
                select(models.Subnet.id)
                .where(models.Subnet.segment_id == row.id)
                .order_by(models.Subnet.id)
            ).all()
            if subnets:
                raise conflict(
                    "SegmentInUse",
                    f"Segment '{row.id}' cannot be deleted: The segment is still associated "
                    f"with subnet(s) {', '.join(subnets)}.",
                )
            segment = Segment(row.network_type, row.physical_network, row.segmentation_id)
            bound = self._bound_ports(session, row.network_id, segment)
            if bound:
                raise conflict(
                    "SegmentInUse",
                    f"Segment '{row.id}' cannot be deleted: The segment is still bound with "
                    f"{bound} port(s).",
                )
            self.deps.types.release(session, [segment])
            session.delete(row)
            return row.network_id

        network_id = self.deps.db.write(tx)
        self.deps.events.network_changed(network_id)

    def _bound_ports(self, session: Session, network_id: str, segment: Segment) -> int:
        """How many ports (DHCP's aside: they follow the network) are bound to ``segment``
        on their host."""
        ports = session.scalars(
            select(models.Port).where(
                models.Port.network_id == network_id,
                models.Port.binding_host_id != "",
                models.Port.device_owner != "network:dhcp",
            )
        ).all()
        if not ports:
            return 0
        segments = segments_of(session, [network_id])[network_id]
        binder = self.deps.binder
        return sum(1 for p in ports if binder.host_segment(session, p, segments) == segment)
