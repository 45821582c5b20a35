"""Floating IPs: addresses of an external network, associated with a port's fixed IP."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import NotFound
from tinystack.common.timeutils import isotime, new_uuid
from tinystack.network import ipam, models
from tinystack.network.exception import bad_request, conflict, ip_generation_failure, not_found
from tinystack.network.services import listing, port_ips, quotas
from tinystack.network.services._rows import network_subnets, visible_network, visible_port
from tinystack.network.services.authz import Check
from tinystack.network.services.port_attrs import random_mac
from tinystack.network.services.port_forwardings import forwarding_record
from tinystack.network.services.records import (
    FloatingIPPortDetails,
    FloatingIPRecord,
    PortForwardingRecord,
)
from tinystack.network.services.routers import routers_by_gateway
from tinystack.network.services.standard_attrs import (
    bump,
    check_revision,
    init_standard,
)
from tinystack.network.services.visibility import project_of

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps

OWNER = "network:floatingip"
SPEC = listing.ListSpec(
    resource="floatingip",
    model=models.FloatingIP,
    columns={
        "id": models.FloatingIP.id,
        "project_id": models.FloatingIP.project_id,
        "tenant_id": models.FloatingIP.project_id,
        "floating_network_id": models.FloatingIP.floating_network_id,
        "floating_ip_address": models.FloatingIP.floating_ip_address,
        "port_id": models.FloatingIP.port_id,
        "fixed_ip_address": models.FloatingIP.fixed_ip_address,
        "router_id": models.FloatingIP.router_id,
        "status": models.FloatingIP.status,
        "description": models.FloatingIP.description,
        "revision_number": models.FloatingIP.revision_number,
    },
    converters={"revision_number": listing.to_int},
    sortable=frozenset(
        {"id", "project_id", "tenant_id", "floating_network_id", "floating_ip_address", "status"}
    ),
    getters={
        "id": lambda f: f.id,
        "project_id": lambda f: f.project_id,
        "tenant_id": lambda f: f.project_id,
        "floating_network_id": lambda f: f.floating_network_id,
        "floating_ip_address": lambda f: f.floating_ip_address,
        "router_id": lambda f: f.router_id,
        "port_id": lambda f: f.port_id,
        "fixed_ip_address": lambda f: f.fixed_ip_address,
        "status": lambda f: f.status,
        "description": lambda f: f.description,
        "created_at": lambda f: isotime(f.created_at),
        "updated_at": lambda f: isotime(f.updated_at),
        "revision_number": lambda f: f.revision_number,
        "tags": lambda f: f.tags,
    },
)


@dataclass(frozen=True, slots=True)
class FloatingIPChanges:
    """An update: the attributes in ``given`` (port_id None: disassociate)."""

    port_id: str | None = None
    fixed_ip_address: str | None = None
    description: str | None = None
    given: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class FloatingIPSpec(FloatingIPChanges):
    """A floating IP to create."""

    floating_network_id: str = ""
    project_id: str | None = None
    floating_ip_address: str | None = None
    subnet_id: str | None = None
    tags: tuple[str, ...] = ()


class FloatingIPs:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def records(
        self, session: Session, rows: Sequence[models.FloatingIP]
    ) -> list[FloatingIPRecord]:
        """``rows`` as records: one query for the associated ports."""
        port_ids = [r.port_id for r in rows if r.port_id]
        ports = {}
        if port_ids:
            ports = {
                p.id: p
                for p in session.scalars(select(models.Port).where(models.Port.id.in_(port_ids)))
            }
        forwardings: dict[str, list[PortForwardingRecord]] = {}
        fip_ids = [r.id for r in rows]
        if fip_ids:
            owners = {r.id: r.project_id for r in rows}
            query = select(models.PortForwarding).where(
                models.PortForwarding.floatingip_id.in_(fip_ids)
            )
            for pf in session.scalars(query.order_by(models.PortForwarding.id)):
                forwardings.setdefault(pf.floatingip_id, []).append(
                    forwarding_record(pf, owners[pf.floatingip_id])
                )
        out = []
        for r in rows:
            port = ports.get(r.port_id or "")
            details = None
            if port is not None:
                details = FloatingIPPortDetails(
                    name=port.name,
                    network_id=port.network_id,
                    mac_address=port.mac_address,
                    admin_state_up=port.admin_state_up,
                    status=port.status,
                    device_id=port.device_id,
                    device_owner=port.device_owner,
                )
            out.append(
                FloatingIPRecord(
                    id=r.id,
                    project_id=r.project_id,
                    floating_network_id=r.floating_network_id,
                    floating_ip_address=r.floating_ip_address,
                    router_id=r.router_id,
                    port_id=r.port_id,
                    fixed_ip_address=r.fixed_ip_address,
                    status=r.status,
                    port_details=details,
                    description=r.description,
                    created_at=r.created_at,
                    updated_at=r.updated_at,
                    revision_number=r.revision_number,
                    tags=tuple(r.tags or ()),
                    port_forwardings=tuple(forwardings.get(r.id, ())),
                )
            )
        return out

    def _visible(self, session: Session, ctx: RequestContext, fip_id: str) -> models.FloatingIP:
        row = session.get(models.FloatingIP, fip_id)
        if row is None or not (ctx.is_admin or row.project_id == project_of(ctx)):
            raise not_found("floatingip", fip_id)
        return row

    def list_items(self, ctx: RequestContext, query: listing.ListQuery) -> list[FloatingIPRecord]:
        stmt = select(models.FloatingIP)
        if not ctx.is_admin:
            stmt = stmt.where(models.FloatingIP.project_id == project_of(ctx))
        with self.deps.db.reader() as session:
            return listing.run(session, SPEC, stmt, query, self.records)

    def show(self, ctx: RequestContext, fip_id: str) -> FloatingIPRecord:
        with self.deps.db.reader() as session:
            return self.records(session, [self._visible(session, ctx, fip_id)])[0]

    def create(self, ctx: RequestContext, spec: FloatingIPSpec) -> FloatingIPRecord:
        """Create a floating IP (the API authorized the request already)."""
        project_id = spec.project_id or project_of(ctx)

        def tx(session: Session) -> FloatingIPRecord:
            net = visible_network(session, ctx, spec.floating_network_id)
            if not net.external:
                raise bad_request("floatingip", f"Network {net.id} is not a valid external network")
            quotas.enforce(session, self.deps.opts, project_id, {"floatingip": 1})
            row = models.FloatingIP(id=new_uuid(), project_id=project_id, status="DOWN")
            row.floating_network_id = net.id
            row.tags = sorted(set(spec.tags))
            init_standard(row, spec.description)
            port = self._port(session, net.id, row.id, spec)
            row.floating_port_id = port.id
            row.floating_ip_address = port_ips.current(session, [port.id])[port.id][0].ip_address
            session.add(row)
            session.flush()
            if spec.port_id:
                self._associate(session, ctx, row, spec.port_id, spec.fixed_ip_address)
            session.flush()
            return self.records(session, [row])[0]

        created = self.deps.db.write(tx)
        if created.router_id:
            self.deps.events.routers_changed([created.router_id])
        return created

    def _port(
        self, session: Session, network_id: str, fip_id: str, spec: FloatingIPSpec
    ) -> models.Port:
        port = models.Port(
            id=new_uuid(),
            project_id="",
            network_id=network_id,
            name="",
            admin_state_up=True,
            status="N/A",
            device_id=fip_id,
            device_owner=OWNER,
            port_security_enabled=False,
            mac_address=random_mac(self.deps.opts.base_mac),
            allowed_address_pairs=[],
            extra_dhcp_opts=[],
            binding_profile={},
            tags=[],
        )
        init_standard(port)
        session.add(port)
        session.flush()
        allocator = ipam.Allocator(session, serialized=self.deps.db.is_sqlite)
        subnets = [s for s in network_subnets(session, network_id) if s.ip_version == 4]
        if not subnets:
            raise bad_request(
                "floatingip", f"Network {network_id} does not contain any IPv4 subnet"
            )
        request: dict[str, Any] = {}
        if spec.subnet_id:
            request["subnet_id"] = spec.subnet_id
        if spec.floating_ip_address:
            request["ip_address"] = spec.floating_ip_address
        if request:
            requests = port_ips.parse_requests(subnets, network_id, [request], OWNER, 1)
            port_ips.allocate_requested(allocator, requests, port)
            return port
        for subnet in subnets:
            if allocator.allocate_any(subnet, port.id) is not None:
                return port
        raise ip_generation_failure(network_id)

    def _associate(
        self,
        session: Session,
        ctx: RequestContext,
        row: models.FloatingIP,
        port_id: str,
        fixed_ip: str | None,
    ) -> None:
        forwarded = session.scalars(
            select(models.PortForwarding.id).where(models.PortForwarding.floatingip_id == row.id)
        ).first()
        if forwarded is not None:
            raise conflict(
                "FipInUseByPortForwarding",
                f"Floating IP {row.id} has port forwardings: it cannot be associated with a port.",
            )
        port = visible_port(session, ctx, str(port_id))
        if port.network_id == row.floating_network_id:
            raise bad_request("floatingip", "Port is on the floating IP's external network")
        if not ctx.is_admin and port.project_id != row.project_id:
            raise not_found("port", port.id)
        v4 = [
            ip
            for ip in port_ips.current(session, [port.id])[port.id]
            if ipaddress.ip_address(ip.ip_address).version == 4
        ]
        if fixed_ip:
            chosen = next((ip for ip in v4 if ip.ip_address == str(fixed_ip)), None)
            if chosen is None:
                raise bad_request("floatingip", f"Port {port.id} does not have fixed ip {fixed_ip}")
        elif len(v4) == 1:
            chosen = v4[0]
        elif not v4:
            raise bad_request(
                "floatingip",
                f"Cannot add floating IP to port {port.id} that has no fixed IPv4 addresses",
            )
        else:
            raise bad_request(
                "floatingip",
                f"Port {port.id} has multiple fixed IPv4 addresses. Must provide a specific "
                "IPv4 address when assigning a floating IP",
            )
        routers = routers_by_gateway(session, row.floating_network_id).get(chosen.subnet_id)
        if not routers:
            raise NotFound(
                f"External network {row.floating_network_id} is not reachable from subnet "
                f"{chosen.subnet_id}. Therefore, cannot associate Port {port.id} with a "
                "Floating IP.",
                code="ExternalGatewayForFloatingIPNotFound",
            )
        taken = session.scalars(
            select(models.FloatingIP).where(
                models.FloatingIP.floating_network_id == row.floating_network_id,
                models.FloatingIP.port_id == port.id,
                models.FloatingIP.fixed_ip_address == chosen.ip_address,
                models.FloatingIP.id != row.id,
            )
        ).first()
        if taken is not None:
            raise conflict(
                "FloatingIPPortAlreadyAssociated",
                f"Cannot associate floating IP {row.floating_ip_address} ({row.id}) with port "
                f"{port.id} using fixed IP {chosen.ip_address}, as that fixed IP already has a "
                f"floating IP on external network {row.floating_network_id}.",
            )
        row.port_id = port.id
        row.fixed_ip_address = chosen.ip_address
        row.router_id = sorted(routers)[0]

    def update(
        self,
        ctx: RequestContext,
        fip_id: str,
        changes: FloatingIPChanges,
        check: Check[FloatingIPRecord],
        revision: int | None = None,
    ) -> FloatingIPRecord:
        def tx(session: Session) -> tuple[str | None, FloatingIPRecord]:
            row = self._visible(session, ctx, fip_id)
            check(self.records(session, [row])[0])
            check_revision(row, revision)
            old_router = row.router_id
            if "description" in changes.given:
                row.description = changes.description or ""
            if "port_id" in changes.given:
                if changes.port_id:
                    self._associate(session, ctx, row, changes.port_id, changes.fixed_ip_address)
                else:
                    row.port_id = row.fixed_ip_address = row.router_id = None
                    row.status = "DOWN"
            bump(row)
            session.flush()
            return old_router, self.records(session, [row])[0]

        old_router, result = self.deps.db.write(tx)
        changed = {r for r in (old_router, result.router_id) if r}
        if changed:
            self.deps.events.routers_changed(sorted(changed))
        return result

    def delete(
        self,
        ctx: RequestContext,
        fip_id: str,
        check: Check[FloatingIPRecord],
        revision: int | None = None,
    ) -> None:
        def tx(session: Session) -> str | None:
            row = self._visible(session, ctx, fip_id)
            check(self.records(session, [row])[0])
            check_revision(row, revision)
            in_use = session.scalars(
                select(models.PortForwarding.id).where(
                    models.PortForwarding.floatingip_id == row.id
                )
            ).first()
            if in_use is not None:
                raise conflict(
                    "FipInUseByPortForwarding",
                    f"Floating IP {row.id} in use by Port Forwarding resources.",
                )
            router_id = row.router_id
            port = session.get(models.Port, row.floating_port_id)
            session.delete(row)
            session.flush()
            if port is not None:
                session.delete(port)
            return router_id

        router_id = self.deps.db.write(tx)
        if router_id:
            self.deps.events.routers_changed([router_id])

    def set_statuses(self, statuses: dict[str, str]) -> None:
        """Agent feedback: the status of floating IPs after wiring them."""

        def tx(session: Session) -> None:
            for fip_id, status in statuses.items():
                row = session.get(models.FloatingIP, fip_id)
                if row is not None and row.status != status:
                    row.status = status
                    bump(row)

        self.deps.db.write(tx)
