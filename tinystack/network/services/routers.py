"""Routers: external gateway (with SNAT and fixed addresses) and static routes."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.timeutils import isotime, new_uuid
from tinystack.network import ipam, models
from tinystack.network.exception import bad_request, conflict, in_use, invalid_input
from tinystack.network.services import _rows as rows
from tinystack.network.services import listing, port_ips, quotas
from tinystack.network.services._rows import (
    interface_ports,
    network_subnets,
    visible_network,
    visible_router,
)
from tinystack.network.services.agents import check_zones, zone_names
from tinystack.network.services.authz import Check
from tinystack.network.services.port_attrs import random_mac
from tinystack.network.services.ports import delete_port
from tinystack.network.services.records import (
    FixedIpRecord,
    HostRoute,
    RouterGateway,
    RouterRecord,
)
from tinystack.network.services.standard_attrs import (
    bump,
    check_revision,
    init_standard,
)
from tinystack.network.services.visibility import project_of

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps

GATEWAY = "network:router_gateway"
INTERFACE = "network:router_interface"
INTERFACE_OWNERS = rows.INTERFACE_OWNERS
SPEC = listing.ListSpec(
    resource="router",
    model=models.Router,
    columns={
        "id": models.Router.id,
        "name": models.Router.name,
        "project_id": models.Router.project_id,
        "tenant_id": models.Router.project_id,
        "status": models.Router.status,
        "admin_state_up": models.Router.admin_state_up,
        "description": models.Router.description,
        "revision_number": models.Router.revision_number,
    },
    converters={
        "admin_state_up": listing.to_bool,
        "revision_number": listing.to_int,
        "distributed": listing.to_bool,
        "ha": listing.to_bool,
    },
    sortable=frozenset({"id", "name", "project_id", "tenant_id", "status"}),
    getters={
        "id": lambda r: r.id,
        "name": lambda r: r.name,
        "project_id": lambda r: r.project_id,
        "tenant_id": lambda r: r.project_id,
        "admin_state_up": lambda r: r.admin_state_up,
        "status": lambda r: r.status,
        "description": lambda r: r.description,
        "revision_number": lambda r: r.revision_number,
        "distributed": lambda r: False,
        "ha": lambda r: False,
        "availability_zone_hints": lambda r: r.availability_zone_hints,
        "created_at": lambda r: isotime(r.created_at),
        "updated_at": lambda r: isotime(r.updated_at),
        "tags": lambda r: r.tags,
    },
)


@dataclass(frozen=True, slots=True)
class GatewayRequest:
    """external_gateway_info as requested (no network_id: remove the gateway)."""

    network_id: str | None = None
    enable_snat: object = None
    external_fixed_ips: list[object] | None = None


@dataclass(frozen=True, slots=True)
class RouterChanges:
    """An update of a router: the attributes in ``given``."""

    name: str | None = None
    description: str | None = None
    admin_state_up: bool | None = None
    #: None with external_gateway_info given: remove the gateway
    gateway: GatewayRequest | None = None
    routes: list[object] | None = None
    distributed: bool | None = None
    ha: bool | None = None
    given: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class RouterSpec(RouterChanges):
    """A router to create."""

    project_id: str | None = None
    availability_zone_hints: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


def interface_cidrs(session: Session, router_id: str) -> list[tuple[str, str]]:
    """(subnet id, CIDR) of every subnet the router has an interface on."""
    stmt = (
        select(models.Subnet.id, models.Subnet.cidr)
        .join(models.IPAllocation, models.IPAllocation.subnet_id == models.Subnet.id)
        .join(models.Port, models.Port.id == models.IPAllocation.port_id)
        .where(models.Port.device_id == router_id, models.Port.device_owner.in_(INTERFACE_OWNERS))
    )
    return [(sid, cidr) for sid, cidr in session.execute(stmt)]


def check_routes(
    session: Session, router_id: str, routes: Any, maximum: int
) -> list[dict[str, str]]:
    if not isinstance(routes, list):
        raise invalid_input(f"'{routes}' is not a list")
    cidrs = [ipaddress.ip_network(c) for _, c in interface_cidrs(session, router_id)]
    out: list[dict[str, str]] = []
    for route in routes:
        if not isinstance(route, dict) or set(route) != {"destination", "nexthop"}:
            raise invalid_input(f"Invalid data format for route: '{route}'")
        dest = ipam.parse_cidr(route["destination"])
        hop = ipam.parse_ip(route["nexthop"])
        if dest.version != hop.version:
            raise invalid_input(f"Invalid IP version for route {route}")
        if not any(hop in c for c in cidrs):
            raise bad_request(
                "router",
                f"Invalid format for routes: {route}, the nexthop is not connected with router",
            )
        clean = {"destination": str(dest), "nexthop": str(hop)}
        if clean not in out:
            out.append(clean)
    if len(out) > maximum:
        raise bad_request("router", f"Unable to complete operation, exceeded {maximum} routes")
    return out


class Routers:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def records(self, session: Session, rows: Sequence[models.Router]) -> list[RouterRecord]:
        """``rows`` as records: one query for the gateways' addresses."""
        gw_ports = [r.gw_port_id for r in rows if r.gw_port_id]
        ips = port_ips.current(session, gw_ports)
        zones = tuple(self.deps.opts.default_availability_zones)
        out = []
        for r in rows:
            gateway = None
            if r.gw_port_id:
                gateway = RouterGateway(
                    network_id=r.gw_network_id,
                    enable_snat=r.enable_snat,
                    external_fixed_ips=tuple(
                        FixedIpRecord(ip.subnet_id, ip.ip_address)
                        for ip in ips.get(r.gw_port_id, [])
                    ),
                )
            hints = tuple(r.availability_zone_hints or ())
            out.append(
                RouterRecord(
                    id=r.id,
                    name=r.name,
                    project_id=r.project_id,
                    admin_state_up=r.admin_state_up,
                    status=r.status,
                    gateway=gateway,
                    routes=tuple(
                        HostRoute(str(x["destination"]), str(x["nexthop"])) for x in r.routes or ()
                    ),
                    availability_zone_hints=hints,
                    availability_zones=hints or zones,
                    description=r.description,
                    created_at=r.created_at,
                    updated_at=r.updated_at,
                    revision_number=r.revision_number,
                    tags=tuple(r.tags or ()),
                )
            )
        return out

    def list_items(self, ctx: RequestContext, query: listing.ListQuery) -> list[RouterRecord]:
        stmt = select(models.Router)
        if not ctx.is_admin:
            stmt = stmt.where(models.Router.project_id == project_of(ctx))
        with self.deps.db.reader() as session:
            return listing.run(session, SPEC, stmt, query, self.records)

    def show(self, ctx: RequestContext, router_id: str) -> RouterRecord:
        with self.deps.db.reader() as session:
            return self.records(session, [visible_router(session, ctx, router_id)])[0]

    def create(self, ctx: RequestContext, spec: RouterSpec) -> RouterRecord:
        """Create a router (the API authorized the request already)."""
        project_id = spec.project_id or project_of(ctx)
        for attr in ("distributed", "ha"):
            if getattr(spec, attr):
                raise invalid_input(f"{attr} routers are not supported")

        def tx(session: Session) -> RouterRecord:
            quotas.enforce(session, self.deps.opts, project_id, {"router": 1})
            hints = list(spec.availability_zone_hints)
            check_zones(hints, zone_names(session, self.deps.opts, "router"))
            row = models.Router(
                id=new_uuid(),
                project_id=project_id,
                name=spec.name or "",
                admin_state_up=True if spec.admin_state_up is None else spec.admin_state_up,
                status="ACTIVE",
                enable_snat=bool(self.deps.opts.enable_snat_by_default),
                routes=[],
                availability_zone_hints=hints,
                tags=sorted(set(spec.tags)),
            )
            init_standard(row, spec.description)
            session.add(row)
            session.flush()
            if spec.gateway is not None:
                self._set_gateway(session, ctx, row, spec.gateway)
            session.flush()
            return self.records(session, [row])[0]

        created = self.deps.db.write(tx)
        self.deps.events.routers_changed([created.id])
        return created

    def update(
        self,
        ctx: RequestContext,
        router_id: str,
        changes: RouterChanges,
        check: Check[RouterRecord],
        revision: int | None = None,
    ) -> RouterRecord:
        def tx(session: Session) -> RouterRecord:
            row = visible_router(session, ctx, router_id)
            check(self.records(session, [row])[0])
            check_revision(row, revision)
            for attr in ("distributed", "ha"):
                if getattr(changes, attr):
                    raise invalid_input(f"{attr} routers are not supported")
            for attr in ("name", "admin_state_up", "description"):
                if attr in changes.given:
                    value = getattr(changes, attr)
                    setattr(row, attr, value if value is not None else "")
            if "external_gateway_info" in changes.given:
                self._set_gateway(session, ctx, row, changes.gateway or GatewayRequest())
            if "routes" in changes.given:
                row.routes = check_routes(
                    session, row.id, changes.routes or [], self.deps.opts.max_routes
                )
            bump(row)
            session.flush()
            return self.records(session, [row])[0]

        result = self.deps.db.write(tx)
        self.deps.events.routers_changed([router_id])
        return result

    def change_routes(
        self,
        ctx: RequestContext,
        router_id: str,
        routes: list[object],
        add: bool,
        check: Check[RouterRecord],
    ) -> RouterRecord:
        """extraroute-atomic: add or remove some static routes."""

        def tx(session: Session) -> RouterRecord:
            row = visible_router(session, ctx, router_id)
            check(self.records(session, [row])[0])
            given = check_routes(session, row.id, routes or [], self.deps.opts.max_routes)
            current = list(row.routes or [])
            if add:
                merged = current + [r for r in given if r not in current]
            else:
                merged = [r for r in current if r not in given]
            row.routes = check_routes(session, row.id, merged, self.deps.opts.max_routes)
            bump(row)
            session.flush()
            return self.records(session, [row])[0]

        result = self.deps.db.write(tx)
        self.deps.events.routers_changed([router_id])
        return result

    # -- gateway -----------------------------------------------------------------------------

    def _set_gateway(
        self, session: Session, ctx: RequestContext, row: models.Router, info: GatewayRequest
    ) -> None:
        network_id = info.network_id
        if not network_id:
            self._clear_gateway(session, row)
            return
        net = visible_network(session, ctx, str(network_id))
        if not net.external:
            raise bad_request("router", f"Network {net.id} is not a valid external network")
        if info.enable_snat is not None:
            row.enable_snat = listing.to_bool(info.enable_snat)
        fixed = info.external_fixed_ips
        if row.gw_port_id and row.gw_network_id == net.id:
            if fixed is not None:
                port = session.get(models.Port, row.gw_port_id)
                assert port is not None
                self._gateway_ips(session, port, fixed, update=True)
            return
        if row.gw_port_id:
            self._clear_gateway(session, row)
        port = models.Port(
            id=new_uuid(),
            project_id="",
            network_id=net.id,
            name="",
            admin_state_up=True,
            status="DOWN",
            device_id=row.id,
            device_owner=GATEWAY,
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
        self._gateway_ips(session, port, fixed, update=False)
        row.gw_port_id = port.id
        row.gw_network_id = net.id

    def _gateway_ips(self, session: Session, port: models.Port, fixed: Any, update: bool) -> None:
        allocator = ipam.Allocator(session, serialized=self.deps.db.is_sqlite)
        subnets = network_subnets(session, port.network_id)
        if fixed is None:
            got = port_ips.allocate_default(allocator, subnets, port)
            if not got:
                raise bad_request(
                    "router",
                    f"No subnets on external network {port.network_id} to allocate an address from",
                )
            return
        requests = port_ips.parse_requests(
            subnets,
            port.network_id,
            fixed,
            port.device_owner,
            self.deps.opts.max_fixed_ips_per_port,
        )
        if update:
            port_ips.update(session, allocator, port, requests)
        else:
            port_ips.allocate_requested(allocator, requests, port)

    def _clear_gateway(self, session: Session, row: models.Router) -> None:
        if not row.gw_port_id:
            return
        used = session.scalars(
            select(models.FloatingIP.id).where(
                models.FloatingIP.router_id == row.id, models.FloatingIP.port_id.is_not(None)
            )
        ).first()
        if used is not None:
            raise conflict(
                "RouterExternalGatewayInUseByFloatingIp",
                f"Gateway cannot be updated for router {row.id}, since a gateway to external "
                f"network {row.gw_network_id} is required by one or more floating IPs.",
            )
        port = session.get(models.Port, row.gw_port_id)
        row.gw_port_id = None
        row.gw_network_id = None
        if port is not None:
            delete_port(session, port)
        session.flush()

    # -- delete ------------------------------------------------------------------------------

    def delete(
        self,
        ctx: RequestContext,
        router_id: str,
        check: Check[RouterRecord],
        revision: int | None = None,
    ) -> None:
        def tx(session: Session) -> None:
            row = visible_router(session, ctx, router_id)
            check(self.records(session, [row])[0])
            check_revision(row, revision)
            if interface_ports(session, row.id):
                raise in_use("RouterInUse", f"Router {row.id} still has ports")
            self._clear_gateway(session, row)
            session.delete(row)

        self.deps.db.write(tx)
        self.deps.events.router_deleted(router_id)


def routers_by_gateway(session: Session, network_id: str) -> dict[str, list[str]]:
    """Router ids with a gateway on ``network_id``, by the subnets they are attached to."""
    stmt = select(models.Router.id).where(models.Router.gw_network_id == network_id)
    out: dict[str, list[str]] = defaultdict(list)
    for router_id in session.scalars(stmt):
        for subnet_id, _cidr in interface_cidrs(session, router_id):
            out[subnet_id].append(router_id)
    return out
