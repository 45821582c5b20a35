"""Router interfaces: attaching subnets (by subnet or by port) to a router and detaching them."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import NotFound
from tinystack.common.timeutils import new_uuid
from tinystack.network import ipam, models
from tinystack.network.exception import bad_request, conflict, in_use
from tinystack.network.services import port_ips
from tinystack.network.services._rows import (
    interface_ports,
    visible_port,
    visible_router,
    visible_subnet,
)
from tinystack.network.services.authz import Check, Owner
from tinystack.network.services.port_attrs import random_mac
from tinystack.network.services.ports import delete_port
from tinystack.network.services.records import RouterInterfaceRecord
from tinystack.network.services.routers import (
    INTERFACE,
    INTERFACE_OWNERS,
    interface_cidrs,
)
from tinystack.network.services.standard_attrs import bump, init_standard

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps


def _overlap_check(session: Session, router: models.Router, subnet: models.Subnet) -> None:
    net = ipaddress.ip_network(subnet.cidr)
    for other_id, cidr in interface_cidrs(session, router.id):
        if other_id == subnet.id:
            raise bad_request("router", f"Router already has a port on subnet {subnet.id}")
        other = ipaddress.ip_network(cidr)
        if other.version == net.version and other.overlaps(net):
            raise bad_request(
                "router",
                f"Cidr {subnet.cidr} of subnet {subnet.id} overlaps with cidr {cidr} "
                f"of subnet {other_id}",
            )


def _info(router: models.Router, port: models.Port, subnet_ids: list[str]) -> RouterInterfaceRecord:
    return RouterInterfaceRecord(
        router_id=router.id,
        project_id=router.project_id,
        port_id=port.id,
        network_id=port.network_id,
        subnet_ids=tuple(subnet_ids),
        tags=tuple(port.tags or ()),
    )


class RouterInterfaces:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def add(
        self,
        ctx: RequestContext,
        router_id: str,
        subnet_id: str | None,
        port_id: str | None,
        check: Check[Owner],
    ) -> RouterInterfaceRecord:
        """Attach a subnet (a new port at its gateway) or a port; authorized on the router."""
        if subnet_id and port_id:
            raise bad_request("router", "Cannot specify both subnet-id and port-id")
        if not subnet_id and not port_id:
            raise bad_request("router", "Either subnet_id or port_id must be specified")

        def tx(session: Session) -> RouterInterfaceRecord:
            router = visible_router(session, ctx, router_id)
            check(Owner(router.project_id))
            if port_id:
                info = self._add_port(session, ctx, router, str(port_id))
            else:
                info = self._add_subnet(session, ctx, router, str(subnet_id))
            bump(router)
            return info

        info = self.deps.db.write(tx)
        self.deps.events.routers_changed([router_id])
        return info

    def _add_subnet(
        self, session: Session, ctx: RequestContext, router: models.Router, subnet_id: str
    ) -> RouterInterfaceRecord:
        subnet = visible_subnet(session, ctx, subnet_id)
        if not subnet.gateway_ip:
            raise bad_request("router", "Subnet for router interface must have a gateway IP")
        _overlap_check(session, router, subnet)
        port = models.Port(
            id=new_uuid(),
            project_id=router.project_id,
            network_id=subnet.network_id,
            name="",
            admin_state_up=True,
            status="DOWN",
            device_id=router.id,
            device_owner=INTERFACE,
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
        allocator.allocate_specific(subnet, subnet.gateway_ip, port.id)
        return _info(router, port, [subnet.id])

    def _add_port(
        self, session: Session, ctx: RequestContext, router: models.Router, port_id: str
    ) -> RouterInterfaceRecord:
        port = visible_port(session, ctx, port_id)
        if port.device_id or port.device_owner:
            raise in_use(
                "PortInUse",
                f"Unable to complete operation on port {port.id} for network "
                f"{port.network_id}. Port already has an attached device {port.device_id}.",
            )
        fixed = port_ips.current(session, [port.id])[port.id]
        if not fixed:
            raise bad_request("router", "Router port must have at least one fixed IP")
        for ip in fixed:
            subnet = session.get(models.Subnet, ip.subnet_id)
            assert subnet is not None
            _overlap_check(session, router, subnet)
        port.device_id = router.id
        port.device_owner = INTERFACE
        for binding in session.scalars(
            select(models.PortSecurityGroup).where(models.PortSecurityGroup.port_id == port.id)
        ):
            session.delete(binding)
        bump(port)
        return _info(router, port, sorted({ip.subnet_id for ip in fixed}))

    # -- remove ------------------------------------------------------------------------------

    def remove(
        self,
        ctx: RequestContext,
        router_id: str,
        subnet_id: str | None,
        port_id: str | None,
        check: Check[Owner],
    ) -> RouterInterfaceRecord:
        """Detach a subnet or port; authorized on the router."""
        if not subnet_id and not port_id:
            raise bad_request("router", "Either subnet_id or port_id must be specified")

        def tx(session: Session) -> RouterInterfaceRecord:
            router = visible_router(session, ctx, router_id)
            check(Owner(router.project_id))
            port, subnet_ids = self._find(session, router, subnet_id, port_id)
            self._check_unused(session, router, subnet_ids)
            info = _info(router, port, subnet_ids)
            fixed = port_ips.current(session, [port.id])[port.id]
            if port_id or all(ip.subnet_id in subnet_ids for ip in fixed):
                delete_port(session, port)
            else:
                ipam.Allocator(session, serialized=True).release(port.id, set(subnet_ids))
                bump(port)
            bump(router)
            return info

        info = self.deps.db.write(tx)
        self.deps.events.routers_changed([router_id])
        return info

    def _find(
        self, session: Session, router: models.Router, subnet_id: Any, port_id: Any
    ) -> tuple[models.Port, list[str]]:
        ports = interface_ports(session, router.id)
        ips = port_ips.current(session, [p.id for p in ports])
        if port_id:
            port = next((p for p in ports if p.id == port_id), None)
            if port is None:
                raise NotFound(
                    f"Router {router.id} does not have an interface with id {port_id}",
                    code="RouterInterfaceNotFound",
                )
            subnets = sorted({ip.subnet_id for ip in ips[port.id]})
            if subnet_id and subnet_id not in subnets:
                raise conflict(
                    "SubnetMismatchForPort",
                    f"Subnet on port {port_id} does not match the requested subnet {subnet_id}.",
                )
            return port, subnets
        for port in ports:
            if any(ip.subnet_id == subnet_id for ip in ips[port.id]):
                return port, [str(subnet_id)]
        raise NotFound(
            f"Router {router.id} has no interface on subnet {subnet_id}",
            code="RouterInterfaceNotFoundForSubnet",
        )

    @staticmethod
    def _check_unused(session: Session, router: models.Router, subnet_ids: list[str]) -> None:
        cidrs = [
            ipaddress.ip_network(c)
            for c in session.scalars(
                select(models.Subnet.cidr).where(models.Subnet.id.in_(subnet_ids))
            )
        ]
        fips = session.scalars(
            select(models.FloatingIP).where(
                models.FloatingIP.router_id == router.id,
                models.FloatingIP.fixed_ip_address.is_not(None),
            )
        )
        for fip in fips:
            address = ipaddress.ip_address(fip.fixed_ip_address or "")
            if any(address in c for c in cidrs):
                raise in_use(
                    "RouterInterfaceInUseByFloatingIP",
                    f"Router interface for subnet {subnet_ids[0]} on router {router.id} cannot "
                    f"be deleted, as it is required by one or more floating IPs.",
                )
        for route in router.routes or []:
            hop = ipaddress.ip_address(route["nexthop"])
            if any(hop in c for c in cidrs):
                raise in_use(
                    "RouterInterfaceInUseByRoute",
                    f"Router interface for subnet {subnet_ids[0]} on router {router.id} cannot "
                    "be deleted, as it is required by one or more routes.",
                )


__all__ = ["INTERFACE_OWNERS", "RouterInterfaces"]
