"""Networks: segments from the type drivers, sharing and external access through RBAC."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.timeutils import isotime, new_uuid
from tinystack.network import models
from tinystack.network.exception import conflict, invalid_input, network_in_use
from tinystack.network.plugins.type_base import (
    NETWORK_TYPE,
    PHYSICAL_NETWORK,
    SEGMENTATION_ID,
    Segment,
)
from tinystack.network.services import listing, quotas
from tinystack.network.services._rows import visible_network, visible_policy
from tinystack.network.services._segment_rows import segment_row
from tinystack.network.services.agents import check_zones, zone_names
from tinystack.network.services.authz import Check
from tinystack.network.services.qos_policies import default_policy
from tinystack.network.services.records import NetworkRecord
from tinystack.network.services.standard_attrs import (
    apply_given,
    bump,
    check_revision,
    init_standard,
)
from tinystack.network.services.visibility import project_of, rbac_targets, visible_clause

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps

SHARED, EXTERNAL = "access_as_shared", "access_as_external"
#: ports deleted with their network instead of keeping it in use
AUTO_DELETE_OWNERS = ("network:dhcp",)
PROVIDER_KEYS = (NETWORK_TYPE, PHYSICAL_NETWORK, SEGMENTATION_ID)
SPEC = listing.ListSpec(
    resource="network",
    model=models.Network,
    columns={
        "id": models.Network.id,
        "name": models.Network.name,
        "project_id": models.Network.project_id,
        "tenant_id": models.Network.project_id,
        "status": models.Network.status,
        "admin_state_up": models.Network.admin_state_up,
        "mtu": models.Network.mtu,
        "port_security_enabled": models.Network.port_security_enabled,
        "router:external": models.Network.external,
        "is_default": models.Network.is_default,
        "qos_policy_id": models.Network.qos_policy_id,
        "description": models.Network.description,
        "revision_number": models.Network.revision_number,
        "created_at": models.Network.created_at,
        "updated_at": models.Network.updated_at,
    },
    converters={
        "admin_state_up": listing.to_bool,
        "shared": listing.to_bool,
        "router:external": listing.to_bool,
        "is_default": listing.to_bool,
        "port_security_enabled": listing.to_bool,
        "mtu": listing.to_int,
        "revision_number": listing.to_int,
        SEGMENTATION_ID: listing.to_int_or_none,
    },
    sortable=frozenset({"id", "name", "project_id", "tenant_id", "status", "mtu"}),
    getters={
        "id": lambda n: n.id,
        "name": lambda n: n.name,
        "project_id": lambda n: n.project_id,
        "tenant_id": lambda n: n.project_id,
        "admin_state_up": lambda n: n.admin_state_up,
        "status": lambda n: n.status,
        "shared": lambda n: n.shared,
        "router:external": lambda n: n.external,
        "is_default": lambda n: n.is_default,
        "qos_policy_id": lambda n: n.qos_policy_id,
        "mtu": lambda n: n.mtu,
        "port_security_enabled": lambda n: n.port_security_enabled,
        "description": lambda n: n.description,
        "subnets": lambda n: n.subnets,
        "revision_number": lambda n: n.revision_number,
        "availability_zone_hints": lambda n: n.availability_zone_hints,
        NETWORK_TYPE: lambda n: n.provider.network_type if n.provider else None,
        PHYSICAL_NETWORK: lambda n: n.provider.physical_network if n.provider else None,
        SEGMENTATION_ID: lambda n: n.provider.segmentation_id if n.provider else None,
        "created_at": lambda n: isotime(n.created_at),
        "updated_at": lambda n: isotime(n.updated_at),
        "tags": lambda n: n.tags,
    },
)


@dataclass(frozen=True, slots=True)
class RequestedSegment:
    """A provider segment as a client gave it (checked when the network is created)."""

    network_type: object = None
    physical_network: object = None
    segmentation_id: object = None


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    """A network to create; None: the default."""

    project_id: str | None = None
    name: str | None = None
    description: str | None = None
    admin_state_up: bool | None = None
    port_security_enabled: bool | None = None
    shared: bool = False
    external: bool = False
    mtu: int | None = None
    availability_zone_hints: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    #: the provider:* attributes, when any was given
    provider: RequestedSegment | None = None
    #: multi-provider segments, when given
    segments: tuple[RequestedSegment, ...] = ()
    qos_policy_id: str | None = None
    is_default: bool = False
    #: dns-integration (checked by the API)
    dns_domain: str = ""
    #: attributes given explicitly (``qos_policy_id``: None means no policy, not the default)
    given: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class NetworkChanges:
    """An update of a network: the attributes in ``given`` (as the client sent them)."""

    name: str | None = None
    description: str | None = None
    admin_state_up: bool | None = None
    port_security_enabled: bool | None = None
    mtu: int | None = None
    shared: bool | None = None
    external: bool | None = None
    qos_policy_id: str | None = None
    is_default: bool | None = None
    dns_domain: str | None = None
    #: provider attributes or segments were given (never updatable)
    touches_provider: bool = False
    given: frozenset[str] = frozenset()


def requested_segments(spec: NetworkSpec) -> list[Segment]:
    """The provider segment(s) an admin asked for (empty: allocate a tenant segment)."""
    if spec.provider is not None and spec.segments:
        raise invalid_input("Segments and provider values cannot both be set")
    out = []
    for raw in (spec.provider,) if spec.provider is not None else spec.segments:
        if not raw.network_type:
            raise invalid_input("provider:network_type required")
        seg_id = raw.segmentation_id
        out.append(
            Segment(
                str(raw.network_type),
                str(raw.physical_network) if raw.physical_network else None,
                listing.to_int(seg_id) if seg_id is not None else None,
            )
        )
    return out


def segments_of(session: Session, network_ids: list[str]) -> dict[str, list[Segment]]:
    out: dict[str, list[Segment]] = defaultdict(list)
    if not network_ids:
        return out
    rows = session.scalars(
        select(models.NetworkSegment)
        .where(models.NetworkSegment.network_id.in_(network_ids))
        .order_by(models.NetworkSegment.segment_index, models.NetworkSegment.id)
    )
    for row in rows:
        out[row.network_id].append(
            Segment(row.network_type, row.physical_network, row.segmentation_id)
        )
    return out


def is_shared_for(session: Session, network_id: str, ctx: RequestContext) -> bool:
    stmt = select(models.RbacPolicy.id).where(
        models.RbacPolicy.object_type == "network",
        models.RbacPolicy.object_id == network_id,
        models.RbacPolicy.action == SHARED,
        models.RbacPolicy.target_project.in_(rbac_targets(ctx)),
    )
    return session.scalars(stmt).first() is not None


def add_rbac(session: Session, network: models.Network, action: str, target: str = "*") -> None:
    exists = session.scalars(
        select(models.RbacPolicy).where(
            models.RbacPolicy.object_type == "network",
            models.RbacPolicy.object_id == network.id,
            models.RbacPolicy.action == action,
            models.RbacPolicy.target_project == target,
        )
    ).first()
    if exists is None:
        session.add(
            models.RbacPolicy(
                id=new_uuid(),
                project_id=network.project_id,
                object_type="network",
                object_id=network.id,
                action=action,
                target_project=target,
            )
        )


class Networks:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # -- records ---------------------------------------------------------------------------

    def records(
        self, session: Session, rows: Sequence[models.Network], ctx: RequestContext
    ) -> list[NetworkRecord]:
        """``rows`` as records: one query each for subnets, segments and sharing."""
        ids = [r.id for r in rows]
        subnets: dict[str, list[str]] = defaultdict(list)
        scopes: dict[tuple[str, int], set[str | None]] = defaultdict(set)
        routed: set[str] = set()
        if ids:
            stmt = (
                select(
                    models.Subnet.network_id,
                    models.Subnet.id,
                    models.Subnet.ip_version,
                    models.SubnetPool.address_scope_id,
                    models.Subnet.segment_id,
                )
                .outerjoin(models.SubnetPool, models.SubnetPool.id == models.Subnet.subnetpool_id)
                .where(models.Subnet.network_id.in_(ids))
                .order_by(models.Subnet.created_at, models.Subnet.id)
            )
            for net_id, subnet_id, version, scope_id, segment_id in session.execute(stmt):
                subnets[net_id].append(subnet_id)
                scopes[(net_id, version)].add(scope_id)
                if segment_id is not None:
                    routed.add(net_id)
        segments = segments_of(session, ids)
        shared = set()
        if ids:
            shared = set(
                session.scalars(
                    select(models.RbacPolicy.object_id).where(
                        models.RbacPolicy.object_type == "network",
                        models.RbacPolicy.action == SHARED,
                        models.RbacPolicy.object_id.in_(ids),
                        models.RbacPolicy.target_project.in_(rbac_targets(ctx)),
                    )
                )
            )
        zones = tuple(self.deps.opts.default_availability_zones)

        def scope(net_id: str, version: int) -> str | None:
            found = scopes.get((net_id, version), set())
            return next(iter(found)) if len(found) == 1 else None

        return [
            NetworkRecord(
                id=r.id,
                name=r.name,
                project_id=r.project_id,
                admin_state_up=r.admin_state_up,
                status=r.status,
                subnets=tuple(subnets[r.id]),
                shared=r.id in shared,
                external=r.external,
                mtu=r.mtu,
                port_security_enabled=r.port_security_enabled,
                availability_zone_hints=tuple(r.availability_zone_hints or ()),
                availability_zones=tuple(r.availability_zone_hints or ()) or zones,
                ipv4_address_scope=scope(r.id, 4),
                ipv6_address_scope=scope(r.id, 6),
                segments=tuple(segments[r.id]),
                description=r.description,
                created_at=r.created_at,
                updated_at=r.updated_at,
                revision_number=r.revision_number,
                tags=tuple(r.tags or ()),
                qos_policy_id=r.qos_policy_id,
                is_default=r.is_default,
                l2_adjacency=r.id not in routed,
                dns_domain=r.dns_domain or "",
            )
            for r in rows
        ]

    def _record(self, session: Session, row: models.Network, ctx: RequestContext) -> NetworkRecord:
        return self.records(session, [row], ctx)[0]

    # -- queries -----------------------------------------------------------------------------

    def list_items(self, ctx: RequestContext, query: listing.ListQuery) -> list[NetworkRecord]:
        stmt = select(models.Network).where(
            visible_clause(models.Network, "network", ctx, (SHARED, EXTERNAL))
        )
        with self.deps.db.reader() as session:
            return listing.run(
                session, SPEC, stmt, query, lambda s, rows: self.records(s, rows, ctx)
            )

    def show(self, ctx: RequestContext, network_id: str) -> NetworkRecord:
        with self.deps.db.reader() as session:
            return self._record(session, visible_network(session, ctx, network_id), ctx)

    # -- changes -----------------------------------------------------------------------------

    def create(self, ctx: RequestContext, spec: NetworkSpec) -> NetworkRecord:
        return self.create_bulk(ctx, [spec])[0]

    def create_bulk(self, ctx: RequestContext, specs: list[NetworkSpec]) -> list[NetworkRecord]:
        """Create networks (the API authorized each from its request already)."""

        def tx(session: Session) -> list[NetworkRecord]:
            rows = [self._create(session, ctx, spec) for spec in specs]
            for project_id in {row.project_id for row in rows}:  # the new rows count already
                quotas.enforce(session, self.deps.opts, project_id, {"network": 0})
            session.flush()
            return self.records(session, rows, ctx)

        created = self.deps.db.write(tx)
        for net in created:
            self.deps.events.network_changed(net.id)
        return created

    def _create(self, session: Session, ctx: RequestContext, spec: NetworkSpec) -> models.Network:
        project_id = spec.project_id or project_of(ctx)
        hints = list(spec.availability_zone_hints)
        check_zones(hints, zone_names(session, self.deps.opts, "network"))
        row = models.Network(
            id=new_uuid(),
            project_id=project_id,
            name=spec.name or "",
            admin_state_up=True if spec.admin_state_up is None else spec.admin_state_up,
            status="ACTIVE",
            port_security_enabled=(
                True if spec.port_security_enabled is None else spec.port_security_enabled
            ),
            external=spec.external,
            availability_zone_hints=hints,
            tags=sorted(set(spec.tags)),
            mtu=0,
            dns_domain=spec.dns_domain,
            qos_policy_id=(
                visible_policy(session, ctx, spec.qos_policy_id).id
                if spec.qos_policy_id
                else None
                if "qos_policy_id" in spec.given
                else default_policy(session, project_id)
            ),
        )
        init_standard(row, spec.description)
        if spec.is_default:
            _make_default(session, row)
        session.add(row)
        session.flush()
        types = self.deps.types
        segments = types.create_segments(session, row.id, requested_segments(spec))
        for index, seg in enumerate(segments):
            segment = segment_row(row.id, seg, index)
            # made with the network: its times, not a clock read a second boundary later
            segment.created_at = segment.updated_at = row.created_at
            session.add(segment)
        row.mtu = self._mtu(spec.mtu, types.mtu(segments))
        if spec.shared:
            add_rbac(session, row, SHARED)
        if row.external:
            add_rbac(session, row, EXTERNAL)
        return row

    @staticmethod
    def _mtu(requested: Any, maximum: int) -> int:
        if requested is None:
            return maximum
        mtu = listing.to_int(requested)
        if mtu > maximum:
            raise invalid_input(f"Requested MTU is too big, maximum is {maximum}")
        if mtu < 68:
            raise invalid_input(f"'{mtu}' is too small - must be at least '68'")
        return mtu

    def update(
        self,
        ctx: RequestContext,
        network_id: str,
        changes: NetworkChanges,
        check: Check[NetworkRecord],
        revision: int | None = None,
    ) -> NetworkRecord:
        def tx(session: Session) -> NetworkRecord:
            row = visible_network(session, ctx, network_id)
            current = self._record(session, row, ctx)
            check(current)
            check_revision(row, revision)
            if changes.touches_provider:
                raise invalid_input("Plugin does not support updating provider attributes")
            given = changes.given
            columns = ("name", "admin_state_up", "description", "port_security_enabled")
            changed = apply_given(row, changes, columns)
            changed |= apply_given(row, changes, ("dns_domain",), lambda value: value or "")
            if "mtu" in given and changes.mtu != row.mtu:
                segments = segments_of(session, [row.id])[row.id]
                row.mtu = self._mtu(changes.mtu, self.deps.types.mtu(segments))
                changed = True
            if "shared" in given and bool(changes.shared) != current.shared:
                self._set_shared(session, row, bool(changes.shared))
                changed = True
            if "qos_policy_id" in given and changes.qos_policy_id != row.qos_policy_id:
                row.qos_policy_id = (
                    visible_policy(session, ctx, changes.qos_policy_id).id
                    if changes.qos_policy_id
                    else None
                )
                changed = True
            if "external" in given and bool(changes.external) != row.external:
                self._set_external(session, row, bool(changes.external))
                changed = True
            if "is_default" in given and bool(changes.is_default) != row.is_default:
                if changes.is_default:
                    _make_default(session, row)
                else:
                    row.is_default = False
                changed = True
            if changed:
                bump(row)
            session.flush()
            return self._record(session, row, ctx)

        result = self.deps.db.write(tx)
        self.deps.events.network_changed(network_id)
        return result

    def _set_shared(self, session: Session, row: models.Network, shared: bool) -> None:
        if shared:
            add_rbac(session, row, SHARED)
            return
        foreign = session.scalars(
            select(models.Port.id).where(
                models.Port.network_id == row.id,
                models.Port.project_id != row.project_id,
                models.Port.project_id != "",
            )
        ).first()
        if foreign is not None:
            raise conflict(
                "InvalidSharedSetting",
                f"Unable to reconfigure sharing settings for network {row.id}. "
                "Multiple tenants are using it.",
            )
        session.execute(
            delete(models.RbacPolicy).where(
                models.RbacPolicy.object_type == "network",
                models.RbacPolicy.object_id == row.id,
                models.RbacPolicy.action == SHARED,
                models.RbacPolicy.target_project == "*",
            )
        )

    def _set_external(self, session: Session, row: models.Network, external: bool) -> None:
        if external:
            row.external = True
            add_rbac(session, row, EXTERNAL)
            return
        used = session.scalars(
            select(models.Port.id).where(
                models.Port.network_id == row.id,
                models.Port.device_owner.in_(("network:router_gateway", "network:floatingip")),
            )
        ).first()
        if used is not None:
            raise network_in_use(row.id)
        row.external = False
        session.execute(
            delete(models.RbacPolicy).where(
                models.RbacPolicy.object_type == "network",
                models.RbacPolicy.object_id == row.id,
                models.RbacPolicy.action == EXTERNAL,
            )
        )

    def delete(
        self,
        ctx: RequestContext,
        network_id: str,
        check: Check[NetworkRecord],
        revision: int | None = None,
    ) -> None:
        def tx(session: Session) -> None:
            row = visible_network(session, ctx, network_id)
            check(self._record(session, row, ctx))
            check_revision(row, revision)
            ports = session.scalars(
                select(models.Port).where(models.Port.network_id == network_id)
            ).all()
            # floating IPs of an external network that are not associated go with it
            loose = session.scalars(
                select(models.FloatingIP).where(
                    models.FloatingIP.floating_network_id == network_id,
                    models.FloatingIP.port_id.is_(None),
                )
            ).all()
            loose_ports = {f.floating_port_id for f in loose}
            if any(
                p.device_owner not in AUTO_DELETE_OWNERS and p.id not in loose_ports for p in ports
            ):
                raise network_in_use(network_id)
            for fip in loose:
                session.delete(fip)
            session.flush()
            for port in ports:
                session.delete(port)
            session.flush()
            session.execute(delete(models.Subnet).where(models.Subnet.network_id == network_id))
            session.execute(
                delete(models.RbacPolicy).where(
                    models.RbacPolicy.object_type == "network",
                    models.RbacPolicy.object_id == network_id,
                )
            )
            self.deps.types.release(session, segments_of(session, [network_id])[network_id])
            session.delete(row)

        self.deps.db.write(tx)
        self.deps.events.network_deleted(network_id)


def _make_default(session: Session, row: models.Network) -> None:
    """Make ``row`` the default external network: it must be external, and the only one."""
    if not row.external:
        raise invalid_input("Only an external network can be the default one")
    other = session.scalars(
        select(models.Network.id).where(
            models.Network.is_default.is_(True), models.Network.id != row.id
        )
    ).first()
    if other is not None:
        raise conflict(
            "DefaultExternalNetworkExists",
            f"Unable to complete operation on network {row.id}. Default external network "
            f"{other} already exists.",
        )
    row.is_default = True
