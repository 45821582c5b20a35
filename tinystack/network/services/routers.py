"""Routers: external gateway (with SNAT and fixed addresses) and static routes."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.timeutils import new_uuid
from tinystack.network import ipam, models
from tinystack.network.exception import bad_request, conflict, in_use, invalid_input, not_found
from tinystack.network.services import listing, port_ips, quotas
from tinystack.network.services.agents import check_zones, zone_names
from tinystack.network.services.authz import Check, Target
from tinystack.network.services.networks import visible_network
from tinystack.network.services.port_attrs import random_mac
from tinystack.network.services.ports import delete_port
from tinystack.network.services.standard_attrs import (
    bump,
    check_revision,
    init_standard,
    owner_fields,
    standard_attrs,
)
from tinystack.network.services.visibility import project_of

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps

GATEWAY = "network:router_gateway"
INTERFACE = "network:router_interface"
INTERFACE_OWNERS = (INTERFACE, "network:router_interface_distributed")
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
)


def visible_router(session: Session, ctx: RequestContext, router_id: str) -> models.Router:
    row = session.get(models.Router, router_id)
    if row is None or not (ctx.is_admin or row.project_id == project_of(ctx)):
        raise not_found("router", router_id)
    return row


def interface_ports(session: Session, router_id: str) -> list[models.Port]:
    stmt = select(models.Port).where(
        models.Port.device_id == router_id, models.Port.device_owner.in_(INTERFACE_OWNERS)
    )
    return list(session.scalars(stmt))


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

    def render(self, session: Session, rows: Sequence[models.Router]) -> list[dict[str, Any]]:
        gw_ports = [r.gw_port_id for r in rows if r.gw_port_id]
        ips = port_ips.current(session, gw_ports)
        zones = list(self.deps.opts.default_availability_zones)
        out = []
        for r in rows:
            gateway = None
            if r.gw_port_id:
                gateway = {
                    "network_id": r.gw_network_id,
                    "enable_snat": r.enable_snat,
                    "external_fixed_ips": [ip.as_dict() for ip in ips.get(r.gw_port_id, [])],
                }
            hints = list(r.availability_zone_hints or [])
            out.append(
                {
                    "id": r.id,
                    "name": r.name,
                    **owner_fields(r.project_id),
                    "admin_state_up": r.admin_state_up,
                    "status": r.status,
                    "external_gateway_info": gateway,
                    "routes": list(r.routes or []),
                    "availability_zone_hints": hints,
                    "availability_zones": hints or zones,
                    "distributed": False,
                    "ha": False,
                    **standard_attrs(r),
                }
            )
        return out

    def list_items(self, ctx: RequestContext, query: listing.ListQuery) -> list[dict[str, Any]]:
        stmt = select(models.Router)
        if not ctx.is_admin:
            stmt = stmt.where(models.Router.project_id == project_of(ctx))
        with self.deps.db.reader() as session:
            return listing.run(session, SPEC, stmt, query, self.render)

    def show(self, ctx: RequestContext, router_id: str) -> dict[str, Any]:
        with self.deps.db.reader() as session:
            return self.render(session, [visible_router(session, ctx, router_id)])[0]

    def create(
        self, ctx: RequestContext, values: dict[str, Any], check: Check[Target]
    ) -> dict[str, Any]:
        project_id = values.get("project_id") or project_of(ctx)
        check({**values, **owner_fields(project_id)})
        for attr in ("distributed", "ha"):
            if values.get(attr):
                raise invalid_input(f"{attr} routers are not supported")

        def tx(session: Session) -> dict[str, Any]:
            quotas.enforce(session, self.deps.opts, project_id, {"router": 1})
            hints = list(values.get("availability_zone_hints") or [])
            check_zones(hints, zone_names(session, self.deps.opts, "router"))
            row = models.Router(
                id=new_uuid(),
                project_id=project_id,
                name=values.get("name") or "",
                admin_state_up=values.get("admin_state_up", True),
                status="ACTIVE",
                enable_snat=bool(self.deps.opts.enable_snat_by_default),
                routes=[],
                availability_zone_hints=hints,
                tags=sorted(set(values.get("tags") or [])),
            )
            init_standard(row, values.get("description"))
            session.add(row)
            session.flush()
            info = values.get("external_gateway_info")
            if info:
                self._set_gateway(session, ctx, row, info)
            session.flush()
            return self.render(session, [row])[0]

        created = self.deps.db.write(tx)
        self.deps.events.routers_changed([created["id"]])
        return created

    def update(
        self,
        ctx: RequestContext,
        router_id: str,
        values: dict[str, Any],
        check: Check[Target],
        revision: int | None = None,
    ) -> dict[str, Any]:
        def tx(session: Session) -> dict[str, Any]:
            row = visible_router(session, ctx, router_id)
            check(self.render(session, [row])[0])
            check_revision(row, revision)
            for attr in ("distributed", "ha"):
                if values.get(attr):
                    raise invalid_input(f"{attr} routers are not supported")
            for attr in ("name", "admin_state_up", "description"):
                if attr in values:
                    setattr(row, attr, values[attr] if values[attr] is not None else "")
            if "external_gateway_info" in values:
                self._set_gateway(session, ctx, row, values["external_gateway_info"] or {})
            if "routes" in values:
                row.routes = check_routes(
                    session, row.id, values["routes"] or [], self.deps.opts.max_routes
                )
            bump(row)
            session.flush()
            return self.render(session, [row])[0]

        result = self.deps.db.write(tx)
        self.deps.events.routers_changed([router_id])
        return result

    def change_routes(
        self, ctx: RequestContext, router_id: str, routes: Any, add: bool, check: Check[Target]
    ) -> dict[str, Any]:
        """extraroute-atomic: add or remove some static routes."""

        def tx(session: Session) -> dict[str, Any]:
            row = visible_router(session, ctx, router_id)
            check(self.render(session, [row])[0])
            given = check_routes(session, row.id, routes or [], self.deps.opts.max_routes)
            current = list(row.routes or [])
            if add:
                merged = current + [r for r in given if r not in current]
            else:
                merged = [r for r in current if r not in given]
            row.routes = check_routes(session, row.id, merged, self.deps.opts.max_routes)
            bump(row)
            session.flush()
            return self.render(session, [row])[0]

        result = self.deps.db.write(tx)
        self.deps.events.routers_changed([router_id])
        return result

    # -- gateway -----------------------------------------------------------------------------

    def _set_gateway(
        self, session: Session, ctx: RequestContext, row: models.Router, info: dict[str, Any]
    ) -> None:
        network_id = info.get("network_id")
        if not network_id:
            self._clear_gateway(session, row)
            return
        net = visible_network(session, ctx, str(network_id))
        if not net.external:
            raise bad_request("router", f"Network {net.id} is not a valid external network")
        if "enable_snat" in info and info["enable_snat"] is not None:
            row.enable_snat = listing.to_bool(info["enable_snat"])
        fixed = info.get("external_fixed_ips")
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
        subnets = port_ips.network_subnets(session, port.network_id)
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
        self, ctx: RequestContext, router_id: str, check: Check[Target], revision: int | None = None
    ) -> None:
        def tx(session: Session) -> None:
            row = visible_router(session, ctx, router_id)
            check(self.render(session, [row])[0])
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
