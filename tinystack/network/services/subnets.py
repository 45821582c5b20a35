"""Subnets: validated address ranges of a network, optionally carved from a subnet pool."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.timeutils import isotime, new_uuid
from tinystack.network import ipam, models
from tinystack.network.exception import invalid_input, subnet_in_use
from tinystack.network.services import listing, quotas
from tinystack.network.services import subnet_validation as checks
from tinystack.network.services._rows import (
    default_pool,
    visible_network,
    visible_pool,
    visible_subnet,
)
from tinystack.network.services.authz import Check
from tinystack.network.services.networks import AUTO_DELETE_OWNERS, is_shared_for
from tinystack.network.services.records import AllocationPool, HostRoute, SubnetRecord
from tinystack.network.services.segments import (
    check_subnet_segment,
    check_subnet_segment_update,
    peer_routes,
)
from tinystack.network.services.standard_attrs import (
    bump,
    check_revision,
    init_standard,
)
from tinystack.network.services.subnetpools import allocate_prefix
from tinystack.network.services.visibility import project_of, rbac_targets

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps

SPEC = listing.ListSpec(
    resource="subnet",
    model=models.Subnet,
    columns={
        "id": models.Subnet.id,
        "name": models.Subnet.name,
        "project_id": models.Subnet.project_id,
        "tenant_id": models.Subnet.project_id,
        "network_id": models.Subnet.network_id,
        "ip_version": models.Subnet.ip_version,
        "cidr": models.Subnet.cidr,
        "gateway_ip": models.Subnet.gateway_ip,
        "enable_dhcp": models.Subnet.enable_dhcp,
        "ipv6_ra_mode": models.Subnet.ipv6_ra_mode,
        "ipv6_address_mode": models.Subnet.ipv6_address_mode,
        "subnetpool_id": models.Subnet.subnetpool_id,
        "segment_id": models.Subnet.segment_id,
        "description": models.Subnet.description,
        "revision_number": models.Subnet.revision_number,
    },
    converters={
        "ip_version": listing.to_int,
        "enable_dhcp": listing.to_bool,
        "revision_number": listing.to_int,
        "router:external": listing.to_bool,
    },
    sortable=frozenset({"id", "name", "project_id", "tenant_id", "network_id", "cidr"}),
    getters={
        "id": lambda s: s.id,
        "name": lambda s: s.name,
        "project_id": lambda s: s.project_id,
        "tenant_id": lambda s: s.project_id,
        "network_id": lambda s: s.network_id,
        "ip_version": lambda s: s.ip_version,
        "cidr": lambda s: s.cidr,
        "gateway_ip": lambda s: s.gateway_ip,
        "allocation_pools": lambda s: [
            {"start": p.start, "end": p.end} for p in s.allocation_pools
        ],
        "dns_nameservers": lambda s: s.dns_nameservers,
        "host_routes": lambda s: [
            {"destination": r.destination, "nexthop": r.nexthop} for r in s.host_routes
        ],
        "enable_dhcp": lambda s: s.enable_dhcp,
        "ipv6_ra_mode": lambda s: s.ipv6_ra_mode,
        "ipv6_address_mode": lambda s: s.ipv6_address_mode,
        "subnetpool_id": lambda s: s.subnetpool_id,
        "segment_id": lambda s: s.segment_id,
        "service_types": lambda s: s.service_types,
        "router:external": lambda s: s.external,
        "description": lambda s: s.description,
        "created_at": lambda s: isotime(s.created_at),
        "updated_at": lambda s: isotime(s.updated_at),
        "revision_number": lambda s: s.revision_number,
        "tags": lambda s: s.tags,
    },
)


@dataclass(frozen=True, slots=True)
class SubnetChanges:
    """An update of a subnet: the attributes in ``given`` (as the client sent them; the
    service checks them)."""

    name: str | None = None
    description: str | None = None
    gateway_ip: str | None = None
    allocation_pools: list[object] | None = None
    dns_nameservers: list[object] | None = None
    host_routes: list[object] | None = None
    enable_dhcp: bool | None = None
    service_types: tuple[str, ...] | None = None
    segment_id: str | None = None
    given: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class SubnetSpec(SubnetChanges):
    """A subnet to create."""

    network_id: str = ""
    project_id: str | None = None
    ip_version: int | None = None
    cidr: str | None = None
    ipv6_ra_mode: str | None = None
    ipv6_address_mode: str | None = None
    subnetpool_id: str | None = None
    use_default_subnet_pool: bool = False
    prefixlen: int | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SubnetTarget:
    """What the create policy needs beyond the request (its ``index``-th item): the
    owner and the network's owner, sharing and external flag."""

    index: int
    project_id: str
    network_project_id: str
    network_shared: bool
    network_external: bool


def visible_clause(ctx: RequestContext) -> Any:
    """Own subnets, subnets of own networks and of networks shared or external to the caller."""
    if ctx.is_admin:
        return True
    project = project_of(ctx)
    owned = select(models.Network.id).where(models.Network.project_id == project)
    granted = select(models.RbacPolicy.object_id).where(
        models.RbacPolicy.object_type == "network",
        models.RbacPolicy.target_project.in_(rbac_targets(ctx)),
    )
    return or_(
        models.Subnet.project_id == project,
        models.Subnet.network_id.in_(owned),
        models.Subnet.network_id.in_(granted),
    )


class Subnets:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def records(
        self, session: Session, rows: Sequence[models.Subnet], ctx: RequestContext
    ) -> list[SubnetRecord]:
        """``rows`` as records: one query each for their networks and sharing."""
        net_ids = list({r.network_id for r in rows})
        nets = {}
        shared: set[str] = set()
        if net_ids:
            nets = {
                n.id: n
                for n in session.scalars(
                    select(models.Network).where(models.Network.id.in_(net_ids))
                )
            }
            shared = set(
                session.scalars(
                    select(models.RbacPolicy.object_id).where(
                        models.RbacPolicy.object_type == "network",
                        models.RbacPolicy.action == "access_as_shared",
                        models.RbacPolicy.object_id.in_(net_ids),
                        models.RbacPolicy.target_project.in_(rbac_targets(ctx)),
                    )
                )
            )
        return [self._record(r, nets.get(r.network_id), r.network_id in shared) for r in rows]

    @staticmethod
    def _record(row: models.Subnet, net: models.Network | None, shared: bool) -> SubnetRecord:
        return SubnetRecord(
            id=row.id,
            name=row.name,
            project_id=row.project_id,
            network_id=row.network_id,
            ip_version=row.ip_version,
            cidr=row.cidr,
            gateway_ip=row.gateway_ip,
            allocation_pools=tuple(
                AllocationPool(str(p["start"]), str(p["end"])) for p in row.allocation_pools or ()
            ),
            dns_nameservers=tuple(row.dns_nameservers or ()),
            host_routes=tuple(
                HostRoute(str(r["destination"]), str(r["nexthop"])) for r in row.host_routes or ()
            ),
            enable_dhcp=row.enable_dhcp,
            ipv6_ra_mode=row.ipv6_ra_mode,
            ipv6_address_mode=row.ipv6_address_mode,
            subnetpool_id=row.subnetpool_id,
            service_types=tuple(row.service_types or ()),
            external=bool(net and net.external),
            description=row.description,
            created_at=row.created_at,
            updated_at=row.updated_at,
            revision_number=row.revision_number,
            tags=tuple(row.tags or ()),
            network_project_id=net.project_id if net else None,
            network_shared=shared,
            segment_id=row.segment_id,
        )

    def list_items(self, ctx: RequestContext, query: listing.ListQuery) -> list[SubnetRecord]:
        stmt = select(models.Subnet).where(visible_clause(ctx))
        with self.deps.db.reader() as session:
            return listing.run(
                session, SPEC, stmt, query, lambda s, rows: self.records(s, rows, ctx)
            )

    def show(self, ctx: RequestContext, subnet_id: str) -> SubnetRecord:
        with self.deps.db.reader() as session:
            return self.records(session, [visible_subnet(session, ctx, subnet_id)], ctx)[0]

    # -- create ------------------------------------------------------------------------------

    def create(
        self, ctx: RequestContext, spec: SubnetSpec, check: Check[SubnetTarget]
    ) -> SubnetRecord:
        return self.create_bulk(ctx, [spec], check)[0]

    def create_bulk(
        self, ctx: RequestContext, specs: list[SubnetSpec], check: Check[SubnetTarget]
    ) -> list[SubnetRecord]:
        """Create subnets; each is authorized once its network is loaded (``check``)."""

        def tx(session: Session) -> list[SubnetRecord]:
            rows = [self._create(session, ctx, n, spec, check) for n, spec in enumerate(specs)]
            for project_id in {r.project_id for r in rows}:  # the new rows count already
                quotas.enforce(session, self.deps.opts, project_id, {"subnet": 0})
            session.flush()
            return self.records(session, rows, ctx)

        created = self.deps.db.write(tx)
        for network_id in {s.network_id for s in created}:
            self.deps.events.network_changed(network_id)
        return created

    def _create(
        self,
        session: Session,
        ctx: RequestContext,
        index: int,
        spec: SubnetSpec,
        check: Check[SubnetTarget],
    ) -> models.Subnet:
        if not spec.network_id:
            raise invalid_input("network_id is required")
        net = visible_network(session, ctx, spec.network_id)
        project_id = spec.project_id or project_of(ctx)
        shared = is_shared_for(session, net.id, ctx)
        check(SubnetTarget(index, project_id, net.project_id, shared, net.external))
        cidr, pool_id, version = self._cidr(session, ctx, spec)
        subnet_net = checks.check_cidr(cidr, version)
        siblings = session.scalars(
            select(models.Subnet.cidr).where(models.Subnet.network_id == net.id)
        ).all()
        if checks.overlapping(subnet_net, list(siblings)):
            raise invalid_input(
                f"Requested subnet with cidr: {subnet_net} for network: {net.id} overlaps "
                "with another subnet"
            )
        if "gateway_ip" in spec.given:
            gateway = checks.check_gateway(subnet_net, spec.gateway_ip)
        else:
            gateway = checks.default_gateway(subnet_net)
        ra, address = checks.check_ipv6_modes(spec.ipv6_ra_mode, spec.ipv6_address_mode, subnet_net)
        pools_raw = spec.allocation_pools
        if pools_raw:
            pools = checks.check_pools(subnet_net, pools_raw, gateway)
        else:
            pools = ipam.default_pools(str(subnet_net), gateway)
        segment_id = spec.segment_id if "segment_id" in spec.given else None
        check_subnet_segment(session, net.id, segment_id)
        opts = self.deps.opts
        row = models.Subnet(
            id=new_uuid(),
            project_id=project_id,
            network_id=net.id,
            name=spec.name or "",
            ip_version=version,
            cidr=str(subnet_net),
            gateway_ip=gateway,
            enable_dhcp=True if spec.enable_dhcp is None else spec.enable_dhcp,
            ipv6_ra_mode=ra,
            ipv6_address_mode=address,
            subnetpool_id=pool_id,
            segment_id=segment_id,
            allocation_pools=pools,
            dns_nameservers=checks.check_nameservers(
                spec.dns_nameservers or [], opts.max_dns_nameservers
            ),
            host_routes=checks.check_routes(
                spec.host_routes or [], version, opts.max_subnet_host_routes
            ),
            service_types=list(spec.service_types or ()),
            tags=sorted(set(spec.tags)),
        )
        init_standard(row, spec.description)
        session.add(row)
        session.flush()
        peer_routes(session, net.id, quiet=frozenset({row.id}))
        if ipam.is_auto_address(row):
            self._address_existing_ports(session, row)
        return row

    def _cidr(
        self, session: Session, ctx: RequestContext, spec: SubnetSpec
    ) -> tuple[str, str | None, int]:
        """(CIDR, subnet pool, IP version): given, or allocated from a (default) pool."""
        pool_id = spec.subnetpool_id
        pool = None
        if pool_id:
            pool = visible_pool(session, ctx, str(pool_id))
        elif spec.use_default_subnet_pool:
            version = checks.check_version(spec.ip_version)
            pool = default_pool(session, ctx, version)
        cidr = spec.cidr
        if pool is None:
            if not cidr:
                raise invalid_input("A cidr must be specified in the absence of a subnet pool")
            if spec.prefixlen is not None:
                raise invalid_input("prefixlen requires a subnet pool")
            return str(cidr), None, checks.check_version(spec.ip_version)
        if spec.ip_version not in (None, pool.ip_version):
            raise invalid_input(
                f"Cannot allocate IPv{spec.ip_version} subnet from IPv{pool.ip_version} subnet pool"
            )
        if cidr is not None:
            cidr = str(checks.check_cidr(cidr, pool.ip_version))
        prefixlen = spec.prefixlen
        length = listing.to_int(prefixlen) if prefixlen is not None else None
        return allocate_prefix(session, pool, cidr, length), pool.id, pool.ip_version

    def _address_existing_ports(self, session: Session, subnet: models.Subnet) -> None:
        ports = session.scalars(
            select(models.Port).where(models.Port.network_id == subnet.network_id)
        ).all()
        allocator = ipam.Allocator(session, serialized=self.deps.db.is_sqlite)
        for port in ports:
            if port.device_owner in ipam.ROUTER_OWNERS or port.device_owner == "network:dhcp":
                continue
            allocator.allocate_specific(subnet, ipam.eui64(subnet.cidr, port.mac_address), port.id)

    # -- update / delete ---------------------------------------------------------------------

    def update(
        self,
        ctx: RequestContext,
        subnet_id: str,
        changes: SubnetChanges,
        check: Check[SubnetRecord],
        revision: int | None = None,
    ) -> SubnetRecord:
        def tx(session: Session) -> SubnetRecord:
            row = visible_subnet(session, ctx, subnet_id)
            check(self.records(session, [row], ctx)[0])
            check_revision(row, revision)
            if "segment_id" in changes.given:
                check_subnet_segment_update(session, row, changes.segment_id)
                row.segment_id = changes.segment_id
            gateway = row.gateway_ip
            self._apply(row, changes)
            peer_routes(
                session, row.network_id, old_gateways={row.id: gateway}, quiet=frozenset({row.id})
            )
            bump(row)
            session.flush()
            return self.records(session, [row], ctx)[0]

        result = self.deps.db.write(tx)
        self.deps.events.network_changed(result.network_id)
        return result

    def _apply(self, row: models.Subnet, changes: SubnetChanges) -> None:
        net = ipaddress.ip_network(row.cidr)
        opts = self.deps.opts
        given = changes.given
        for column in ("name", "description", "enable_dhcp"):
            if column in given and getattr(row, column) != getattr(changes, column):
                setattr(row, column, getattr(changes, column))
        if "service_types" in given:
            types = changes.service_types
            row.service_types = list(types or ())
        gateway = row.gateway_ip
        if "gateway_ip" in given:
            gateway = checks.check_gateway(net, changes.gateway_ip)
        if "allocation_pools" in given:
            row.allocation_pools = checks.check_pools(net, changes.allocation_pools or [], gateway)
        elif gateway is not None and gateway != row.gateway_ip:
            checks.check_pools(net, row.allocation_pools, gateway)
        row.gateway_ip = gateway
        if "dns_nameservers" in given:
            row.dns_nameservers = checks.check_nameservers(
                changes.dns_nameservers or [], opts.max_dns_nameservers, row.id
            )
        if "host_routes" in given:
            row.host_routes = checks.check_routes(
                changes.host_routes or [], row.ip_version, opts.max_subnet_host_routes, row.id
            )

    def delete(
        self,
        ctx: RequestContext,
        subnet_id: str,
        check: Check[SubnetRecord],
        revision: int | None = None,
    ) -> None:
        def tx(session: Session) -> str:
            row = visible_subnet(session, ctx, subnet_id)
            check(self.records(session, [row], ctx)[0])
            check_revision(row, revision)
            owners = session.execute(
                select(models.Port.device_owner, models.IPAllocation.ip_address)
                .join(models.IPAllocation, models.IPAllocation.port_id == models.Port.id)
                .where(models.IPAllocation.subnet_id == row.id)
            ).all()
            auto = ipam.is_auto_address(row)
            for owner, _ip in owners:
                if owner in AUTO_DELETE_OWNERS or (auto and owner not in ipam.ROUTER_OWNERS):
                    continue
                raise subnet_in_use(row.id)
            session.delete(row)
            session.flush()
            peer_routes(session, row.network_id, deleted_cidr=row.cidr)
            return row.network_id

        network_id = self.deps.db.write(tx)
        self.deps.events.network_changed(network_id)
