"""Floating IP port forwardings: DNAT of a floating IP's TCP/UDP ports (or port ranges)
to a fixed IP of an internal port, in the router that joins the port's subnet to the
floating IP's network.

A floating IP with port forwardings is not associated with a port (each excludes the
other, 409); its ``router_id`` is the forwarding router while it has forwardings. The
external ranges of one floating IP and protocol never overlap, nor do the internal
ranges of one fixed IP and protocol (400, as upstream). A range maps onto one internal
port or onto a range of the same length.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import NotFound
from tinystack.common.timeutils import new_uuid
from tinystack.network import models
from tinystack.network.exception import bad_request, conflict, invalid_input, not_found
from tinystack.network.services import port_ips
from tinystack.network.services._rows import visible_port
from tinystack.network.services.authz import Check
from tinystack.network.services.records import PortForwardingRecord
from tinystack.network.services.routers import routers_by_gateway
from tinystack.network.services.visibility import project_of

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps

PROTOCOLS = ("tcp", "udp")


@dataclass(frozen=True, slots=True)
class PortForwardingChanges:
    """A forwarding's attributes as the client sent them: those in ``given``.

    Ports are ``(start, end)``; a single port is ``(n, n)``."""

    internal_port_id: str | None = None
    internal_ip_address: str | None = None
    protocol: str | None = None
    internal_ports: tuple[int, int] | None = None
    external_ports: tuple[int, int] | None = None
    description: str | None = None
    given: frozenset[str] = frozenset()


def parse_ports(value: object, name: str) -> tuple[int, int]:
    """``22``, ``"22"`` or ``"1000:1010"`` as (start, end) within 1..65535."""
    text = str(value)
    first, sep, last = text.partition(":")
    try:
        start, end = int(first), int(last if sep else first)
    except ValueError:
        raise invalid_input(f"Invalid port range or port: {value!r} for {name}") from None
    if not 1 <= start <= end <= 65535:
        raise invalid_input(f"Invalid port range or port: {value!r} for {name}")
    return start, end


def forwarding_record(row: models.PortForwarding, project_id: str) -> PortForwardingRecord:
    """The record of a forwarding row (``project_id``: its floating IP's owner)."""
    return PortForwardingRecord(
        id=row.id,
        floatingip_id=row.floatingip_id,
        project_id=project_id,
        internal_port_id=row.internal_port_id,
        internal_ip_address=row.internal_ip_address,
        protocol=row.protocol,
        internal_port_start=row.internal_port_start,
        internal_port_end=row.internal_port_end,
        external_port_start=row.external_port_start,
        external_port_end=row.external_port_end,
        description=row.description,
    )


class PortForwardings:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def _fip(self, session: Session, ctx: RequestContext, fip_id: str) -> models.FloatingIP:
        row = session.get(models.FloatingIP, fip_id)
        if row is None or not (ctx.is_admin or row.project_id == project_of(ctx)):
            raise not_found("floatingip", fip_id)
        return row

    def _row(
        self, session: Session, fip: models.FloatingIP, forwarding_id: str
    ) -> models.PortForwarding:
        row = session.get(models.PortForwarding, forwarding_id)
        if row is None or row.floatingip_id != fip.id:
            raise NotFound(
                f"Port Forwarding {forwarding_id} could not be found for Floating IP {fip.id}.",
                code="PortForwardingNotFound",
            )
        return row

    def list_items(self, ctx: RequestContext, fip_id: str) -> list[PortForwardingRecord]:
        with self.deps.db.reader() as session:
            fip = self._fip(session, ctx, fip_id)
            stmt = (
                select(models.PortForwarding)
                .where(models.PortForwarding.floatingip_id == fip.id)
                .order_by(models.PortForwarding.id)
            )
            return [forwarding_record(r, fip.project_id) for r in session.scalars(stmt)]

    def show(self, ctx: RequestContext, fip_id: str, forwarding_id: str) -> PortForwardingRecord:
        with self.deps.db.reader() as session:
            fip = self._fip(session, ctx, fip_id)
            return forwarding_record(self._row(session, fip, forwarding_id), fip.project_id)

    def create(
        self,
        ctx: RequestContext,
        fip_id: str,
        values: PortForwardingChanges,
        check: Check[PortForwardingRecord],
    ) -> PortForwardingRecord:
        def tx(session: Session) -> tuple[str, PortForwardingRecord]:
            fip = self._fip(session, ctx, fip_id)
            _check_required(values)
            row = models.PortForwarding(id=new_uuid(), floatingip_id=fip.id)
            _assign(row, values)
            check(forwarding_record(row, fip.project_id))
            router_id = self._validate(session, ctx, fip, row)
            session.add(row)
            fip.router_id = router_id
            session.flush()
            return router_id, forwarding_record(row, fip.project_id)

        router_id, created = self.deps.db.write(tx)
        self.deps.events.routers_changed([router_id])
        return created

    def update(
        self,
        ctx: RequestContext,
        fip_id: str,
        forwarding_id: str,
        changes: PortForwardingChanges,
        check: Check[PortForwardingRecord],
    ) -> PortForwardingRecord:
        def tx(session: Session) -> tuple[str, PortForwardingRecord]:
            fip = self._fip(session, ctx, fip_id)
            row = self._row(session, fip, forwarding_id)
            check(forwarding_record(row, fip.project_id))
            _assign(row, changes)
            router_id = self._validate(session, ctx, fip, row)
            fip.router_id = router_id
            session.flush()
            return router_id, forwarding_record(row, fip.project_id)

        router_id, updated = self.deps.db.write(tx)
        self.deps.events.routers_changed([router_id])
        return updated

    def delete(
        self,
        ctx: RequestContext,
        fip_id: str,
        forwarding_id: str,
        check: Check[PortForwardingRecord],
    ) -> None:
        def tx(session: Session) -> str | None:
            fip = self._fip(session, ctx, fip_id)
            row = self._row(session, fip, forwarding_id)
            check(forwarding_record(row, fip.project_id))
            session.delete(row)
            session.flush()
            router_id = fip.router_id
            left = session.scalars(
                select(models.PortForwarding.id).where(
                    models.PortForwarding.floatingip_id == fip.id
                )
            ).first()
            if left is None and fip.port_id is None:
                fip.router_id = None
            return router_id

        router_id = self.deps.db.write(tx)
        if router_id:
            self.deps.events.routers_changed([router_id])

    def _validate(
        self,
        session: Session,
        ctx: RequestContext,
        fip: models.FloatingIP,
        row: models.PortForwarding,
    ) -> str:
        """Check the forwarding against the floating IP and the others; its router."""
        if fip.port_id is not None:
            raise conflict(
                "FipInUseByPortAssociation",
                f"Floating IP {fip.id} is associated with port {fip.port_id}: it cannot "
                "have port forwardings.",
            )
        if row.protocol not in PROTOCOLS:
            raise invalid_input(f"{row.protocol} is not in valid values {list(PROTOCOLS)}")
        internal = row.internal_port_end - row.internal_port_start
        external = row.external_port_end - row.external_port_start
        if internal not in (0, external):
            raise bad_request(
                "port forwarding",
                "The internal and external port ranges must have the same length, or the "
                "internal one be a single port",
            )
        port = visible_port(session, ctx, row.internal_port_id)
        bound = session.scalars(
            select(models.FloatingIP).where(models.FloatingIP.port_id == port.id)
        ).first()
        if bound is not None:
            raise conflict(
                "PortHasBindingFloatingIP",
                f"Cannot create port forwarding to floating IP {fip.floating_ip_address} "
                f"({fip.id}) with port {port.id} using fixed IP {row.internal_ip_address}, as "
                f"that port already has a binding floating IP {bound.floating_ip_address}.",
            )
        address = ipaddress.ip_address(row.internal_ip_address)
        fixed = port_ips.current(session, [port.id])[port.id]
        chosen = next((ip for ip in fixed if ip.ip_address == str(address)), None)
        if chosen is None or address.version != 4:
            raise bad_request(
                "port forwarding",
                f"The internal IP {row.internal_ip_address} is not an IPv4 address of port "
                f"{port.id}",
            )
        routers = routers_by_gateway(session, fip.floating_network_id).get(chosen.subnet_id)
        if not routers:
            raise bad_request(
                "port forwarding",
                f"External network {fip.floating_network_id} is not reachable from subnet "
                f"{chosen.subnet_id}",
            )
        _check_overlaps(session, fip, row)
        return sorted(routers)[0]


def _check_required(values: PortForwardingChanges) -> None:
    for name in ("internal_port_id", "internal_ip_address", "protocol"):
        if getattr(values, name) is None:
            raise bad_request("port forwarding", f"'{name}' is required")
    if values.internal_ports is None or values.external_ports is None:
        raise bad_request("port forwarding", "internal and external ports are required")


def _assign(row: models.PortForwarding, values: PortForwardingChanges) -> None:
    given = values.given
    if "internal_port_id" in given:
        row.internal_port_id = str(values.internal_port_id)
    if "internal_ip_address" in given:
        row.internal_ip_address = str(values.internal_ip_address)
    if "protocol" in given:
        row.protocol = str(values.protocol).lower()
    if "description" in given:
        row.description = values.description or ""
    if values.internal_ports is not None:
        row.internal_port_start, row.internal_port_end = values.internal_ports
    if values.external_ports is not None:
        row.external_port_start, row.external_port_end = values.external_ports


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _check_overlaps(session: Session, fip: models.FloatingIP, row: models.PortForwarding) -> None:
    others: Sequence[models.PortForwarding] = session.scalars(
        select(models.PortForwarding).where(
            models.PortForwarding.protocol == row.protocol, models.PortForwarding.id != row.id
        )
    ).all()
    external = (row.external_port_start, row.external_port_end)
    internal = (row.internal_port_start, row.internal_port_end)
    for other in others:
        if other.floatingip_id == fip.id and _overlap(
            external, (other.external_port_start, other.external_port_end)
        ):
            raise bad_request(
                "port forwarding",
                f"The external port range {external[0]}:{external[1]} overlaps port "
                f"forwarding {other.id} of floating IP {fip.id}",
            )
        if other.internal_ip_address == row.internal_ip_address and _overlap(
            internal, (other.internal_port_start, other.internal_port_end)
        ):
            raise bad_request(
                "port forwarding",
                f"The internal port range {internal[0]}:{internal[1]} of "
                f"{row.internal_ip_address} overlaps port forwarding {other.id}",
            )
