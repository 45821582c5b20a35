"""Ports: addresses from IPAM, security groups, address pairs and the host binding."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest
from tinystack.common.rpc.payload import JSON
from tinystack.common.timeutils import isotime, new_uuid
from tinystack.network import ipam, models
from tinystack.network.exception import conflict, in_use, invalid_input
from tinystack.network.services import dns, listing, port_attrs, port_ips, quotas
from tinystack.network.services._rows import (
    network_subnets,
    visible_network,
    visible_policy,
    visible_port,
)
from tinystack.network.services._segment_rows import candidate_subnets
from tinystack.network.services.authz import Check
from tinystack.network.services.networks import segments_of
from tinystack.network.services.records import (
    AddressPair,
    DhcpOption,
    FixedIpRecord,
    PortRecord,
)
from tinystack.network.services.security_groups import ensure_default
from tinystack.network.services.standard_attrs import (
    bump,
    check_revision,
    init_standard,
)
from tinystack.network.services.visibility import project_of, rbac_targets

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps

L3_OWNERS = (*ipam.ROUTER_OWNERS, "network:floatingip")
SPEC = listing.ListSpec(
    resource="port",
    model=models.Port,
    columns={
        "id": models.Port.id,
        "name": models.Port.name,
        "project_id": models.Port.project_id,
        "tenant_id": models.Port.project_id,
        "network_id": models.Port.network_id,
        "qos_policy_id": models.Port.qos_policy_id,
        "admin_state_up": models.Port.admin_state_up,
        "status": models.Port.status,
        "mac_address": models.Port.mac_address,
        "device_id": models.Port.device_id,
        "device_owner": models.Port.device_owner,
        "port_security_enabled": models.Port.port_security_enabled,
        "binding:host_id": models.Port.binding_host_id,
        "binding:vif_type": models.Port.binding_vif_type,
        "binding:vnic_type": models.Port.binding_vnic_type,
        "description": models.Port.description,
        "revision_number": models.Port.revision_number,
        "dns_name": models.Port.dns_name,
    },
    converters={
        "admin_state_up": listing.to_bool,
        "port_security_enabled": listing.to_bool,
        "revision_number": listing.to_int,
    },
    sortable=frozenset(
        """
            id name project_id tenant_id network_id status mac_address device_id device_owner
            """.split()
    ),
    getters={
        "id": lambda p: p.id,
        "name": lambda p: p.name,
        "project_id": lambda p: p.project_id,
        "tenant_id": lambda p: p.project_id,
        "network_id": lambda p: p.network_id,
        "qos_policy_id": lambda p: p.qos_policy_id,
        "admin_state_up": lambda p: p.admin_state_up,
        "status": lambda p: p.status,
        "mac_address": lambda p: p.mac_address,
        "device_id": lambda p: p.device_id,
        "device_owner": lambda p: p.device_owner,
        "security_groups": lambda p: p.security_groups,
        "port_security_enabled": lambda p: p.port_security_enabled,
        "binding:host_id": lambda p: p.host_id,
        "binding:vif_type": lambda p: p.vif_type,
        "binding:vnic_type": lambda p: p.vnic_type,
        "description": lambda p: p.description,
        "revision_number": lambda p: p.revision_number,
        "ip_allocation": lambda p: "immediate",
        "created_at": lambda p: isotime(p.created_at),
        "updated_at": lambda p: isotime(p.updated_at),
        "tags": lambda p: p.tags,
        "dns_name": lambda p: p.dns_name,
    },
)


@dataclass(frozen=True, slots=True)
class PortChanges:
    """An update of a port: the attributes in ``given``, as the client sent them (the
    service checks them)."""

    name: str | None = None
    description: str | None = None
    admin_state_up: bool | None = None
    mac_address: str | None = None
    fixed_ips: list[object] | None = None
    device_id: str | None = None
    device_owner: str | None = None
    security_groups: list[str] | None = None
    allowed_address_pairs: list[object] | None = None
    port_security_enabled: bool | None = None
    extra_dhcp_opts: list[object] | None = None
    host_id: str | None = None
    vnic_type: str | None = None
    profile: dict[str, JSON] | None = None
    qos_policy_id: str | None = None
    dns_name: str | None = None
    dns_domain: str | None = None
    given: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class PortSpec(PortChanges):
    """A port to create."""

    network_id: str = ""
    project_id: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PortTarget:
    """What the create policy needs beyond the request (its ``index``-th item): the
    owner, the device owner and the network's owner and sharing."""

    index: int
    project_id: str
    device_owner: str
    network_project_id: str
    network_shared: bool


def _given(changes: PortChanges, name: str, default: object) -> object:
    return getattr(changes, name) if name in changes.given else default


def visible_clause(ctx: RequestContext) -> Any:
    """Own ports and ports on networks the caller owns (admins see every port)."""
    if ctx.is_admin:
        return True
    project = project_of(ctx)
    owned = select(models.Network.id).where(models.Network.project_id == project)
    return or_(models.Port.project_id == project, models.Port.network_id.in_(owned))


def _fixed_ip_filter(values: list[str]) -> Any:
    """``fixed_ips=ip_address=X`` / ``subnet_id=Y`` / ``ip_address_substr=Z`` as SQL."""
    wanted: dict[str, list[str]] = defaultdict(list)
    for value in values:
        key, _, item = str(value).partition("=")
        if key not in ("ip_address", "subnet_id", "ip_address_substr") or not item:
            raise invalid_input(f"Invalid fixed_ips filter '{value}'")
        wanted[key].append(item)
    stmt = select(models.IPAllocation.port_id)
    if wanted.get("ip_address"):
        stmt = stmt.where(models.IPAllocation.ip_address.in_(wanted["ip_address"]))
    if wanted.get("subnet_id"):
        stmt = stmt.where(models.IPAllocation.subnet_id.in_(wanted["subnet_id"]))
    for substr in wanted.get("ip_address_substr", []):
        stmt = stmt.where(models.IPAllocation.ip_address.contains(substr))
    return models.Port.id.in_(stmt)


class Ports:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # -- records ---------------------------------------------------------------------------

    def records(
        self, session: Session, rows: Sequence[models.Port], ctx: RequestContext
    ) -> list[PortRecord]:
        """``rows`` as records: one query each for addresses, groups, networks, sharing."""
        ids = [r.id for r in rows]
        ips = port_ips.current(session, ids)
        groups: dict[str, list[str]] = defaultdict(list)
        net_ids = list({r.network_id for r in rows})
        owners: dict[str, str] = {}
        net_policies: dict[str, str | None] = {}
        shared: set[str] = set()
        if ids:
            stmt = select(models.PortSecurityGroup).where(models.PortSecurityGroup.port_id.in_(ids))
            for binding in session.scalars(stmt):
                groups[binding.port_id].append(binding.security_group_id)
            for net_id, net_owner, net_qos in session.execute(
                select(
                    models.Network.id, models.Network.project_id, models.Network.qos_policy_id
                ).where(models.Network.id.in_(net_ids))
            ):
                owners[net_id] = net_owner
                net_policies[net_id] = net_qos
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
        return [
            self._record(
                r,
                ips[r.id],
                sorted(groups[r.id]),
                owners.get(r.network_id),
                r.network_id in shared,
                net_policies.get(r.network_id),
            )
            for r in rows
        ]

    @property
    def dns_domain(self) -> str:
        """The service's DNS domain (``[network] dns_domain`` as a FQDN)."""
        return dns.domain_of(self.deps.opts.dns_domain)

    def _record(
        self,
        row: models.Port,
        fixed_ips: list[port_ips.FixedIp],
        groups: list[str],
        network_owner: str | None,
        shared: bool,
        network_policy: str | None = None,
    ) -> PortRecord:
        return PortRecord(
            id=row.id,
            name=row.name,
            network_id=row.network_id,
            project_id=row.project_id,
            mac_address=row.mac_address,
            admin_state_up=row.admin_state_up,
            status=row.status,
            device_id=row.device_id,
            device_owner=row.device_owner,
            fixed_ips=tuple(FixedIpRecord(ip.subnet_id, ip.ip_address) for ip in fixed_ips),
            security_groups=tuple(groups),
            allowed_address_pairs=tuple(
                AddressPair(str(p["ip_address"]), str(p["mac_address"]))
                for p in row.allowed_address_pairs or ()
            ),
            extra_dhcp_opts=tuple(
                DhcpOption(str(o["opt_name"]), o.get("opt_value"), int(o.get("ip_version", 4)))
                for o in row.extra_dhcp_opts or ()
            ),
            port_security_enabled=row.port_security_enabled,
            host_id=row.binding_host_id,
            vif_type=row.binding_vif_type,
            vif_details=dict(row.binding_vif_details or {}),
            vnic_type=row.binding_vnic_type,
            profile=dict(row.binding_profile or {}),
            description=row.description,
            created_at=row.created_at,
            updated_at=row.updated_at,
            revision_number=row.revision_number,
            tags=tuple(row.tags or ()),
            network_project_id=network_owner,
            network_shared=shared,
            qos_policy_id=row.qos_policy_id,
            qos_network_policy_id=network_policy,
            dns_name=row.dns_name or "",
            dns_domain=row.dns_domain or "",
            dns_assignment=dns.assignment(
                (ip.ip_address for ip in fixed_ips), row.dns_name or "", self.dns_domain
            ),
        )

    # -- queries -----------------------------------------------------------------------------

    def list_items(self, ctx: RequestContext, query: listing.ListQuery) -> list[PortRecord]:
        stmt = select(models.Port).where(visible_clause(ctx))
        filters = dict(query.filters)
        if "fixed_ips" in filters:
            stmt = stmt.where(_fixed_ip_filter(filters.pop("fixed_ips")))
        if "security_groups" in filters:
            groups = select(models.PortSecurityGroup.port_id).where(
                models.PortSecurityGroup.security_group_id.in_(filters.pop("security_groups"))
            )
            stmt = stmt.where(models.Port.id.in_(groups))
        query = listing.ListQuery(
            filters=filters,
            sorts=query.sorts,
            limit=query.limit,
            marker=query.marker,
            page_reverse=query.page_reverse,
            tag_filters=query.tag_filters,
        )
        with self.deps.db.reader() as session:
            return listing.run(
                session, SPEC, stmt, query, lambda s, rows: self.records(s, rows, ctx)
            )

    def show(self, ctx: RequestContext, port_id: str) -> PortRecord:
        with self.deps.db.reader() as session:
            return self.records(session, [visible_port(session, ctx, port_id)], ctx)[0]

    # -- create ------------------------------------------------------------------------------

    def create(self, ctx: RequestContext, spec: PortSpec, check: Check[PortTarget]) -> PortRecord:
        return self.create_bulk(ctx, [spec], check)[0]

    def create_bulk(
        self, ctx: RequestContext, specs: list[PortSpec], check: Check[PortTarget]
    ) -> list[PortRecord]:
        """Create ports; each is authorized once its network is loaded (``check``)."""

        def tx(session: Session) -> list[PortRecord]:
            created = [self._create(session, ctx, n, spec, check) for n, spec in enumerate(specs)]
            for project_id in {port.project_id for port in created}:  # counted already
                quotas.enforce(session, self.deps.opts, project_id, {"port": 0})
            return created

        created = self.deps.db.write(tx)
        for port in created:
            # (no note in default_groups: network:* ports do not make the default group)
            self.deps.events.port_changed(port)
        return created

    def _create(
        self,
        session: Session,
        ctx: RequestContext,
        index: int,
        spec: PortSpec,
        check: Check[PortTarget],
    ) -> PortRecord:
        net = visible_network(session, ctx, spec.network_id)
        project_id = spec.project_id or project_of(ctx)
        shared = self._shared(session, net.id, ctx)
        owner = str(spec.device_owner or "")
        check(PortTarget(index, project_id, owner, net.project_id, shared))
        security = bool(_given(spec, "port_security_enabled", net.port_security_enabled))
        row = models.Port(
            id=new_uuid(),
            project_id=project_id,
            network_id=net.id,
            name=spec.name or "",
            admin_state_up=_given(spec, "admin_state_up", True),
            status="DOWN",
            device_id=str(spec.device_id or ""),
            device_owner=owner,
            port_security_enabled=security,
            binding_host_id=str(spec.host_id or ""),
            binding_vnic_type=port_attrs.check_vnic_type(_given(spec, "vnic_type", "normal")),
            binding_profile=dict(spec.profile or {}),
            extra_dhcp_opts=port_attrs.check_dhcp_opts(spec.extra_dhcp_opts or []),
            tags=sorted(set(spec.tags)),
            qos_policy_id=(
                visible_policy(session, ctx, spec.qos_policy_id).id if spec.qos_policy_id else None
            ),
            dns_name="",
            dns_domain="",
        )
        init_standard(row, spec.description)
        self._set_dns(row, spec)
        row.mac_address = self._mac(session, net.id, spec.mac_address)
        pairs = port_attrs.check_address_pairs(spec.allowed_address_pairs or [])
        if pairs and not security:
            raise conflict(
                "AddressPairAndPortSecurityRequired",
                "Port Security must be enabled in order to have allowed address pairs on a port.",
            )
        row.allowed_address_pairs = port_attrs.fill_pair_macs(pairs, row.mac_address)
        groups = self._groups(session, ctx, row, spec, security)
        session.add(row)
        session.flush()
        fixed = self._allocate(session, row, spec.fixed_ips)
        if groups and not fixed and "security_groups" in spec.given:
            raise _sg_requires_security()
        for group_id in groups:
            session.add(models.PortSecurityGroup(port_id=row.id, security_group_id=group_id))
        self.deps.binder.bind(session, row, segments_of(session, [net.id])[net.id])
        session.flush()
        return self._record(row, fixed, sorted(groups), net.project_id, shared, net.qos_policy_id)

    def _set_dns(self, row: models.Port, changes: PortChanges) -> None:
        """Keep the port's ``dns_name`` and ``dns_domain`` if given, unless the service's
        domain is the default one (then, as upstream, a port keeps neither)."""
        domain = self.dns_domain
        if not dns.names_enabled(domain):
            return
        if "dns_name" in changes.given:
            row.dns_name = dns.check_port_dns_name(changes.dns_name or "", domain)
        if "dns_domain" in changes.given:
            row.dns_domain = changes.dns_domain or ""

    def _shared(self, session: Session, network_id: str, ctx: RequestContext) -> bool:
        stmt = select(models.RbacPolicy.id).where(
            models.RbacPolicy.object_type == "network",
            models.RbacPolicy.object_id == network_id,
            models.RbacPolicy.action == "access_as_shared",
            models.RbacPolicy.target_project.in_(rbac_targets(ctx)),
        )
        return session.scalars(stmt).first() is not None

    def _mac(self, session: Session, network_id: str, requested: Any, port_id: str = "") -> str:
        if requested:
            mac = port_attrs.check_mac(requested)
            if port_attrs.mac_in_use(session, network_id, mac, port_id or None):
                raise port_attrs.mac_conflict(network_id, mac)
            return mac
        for _ in range(16):
            mac = port_attrs.random_mac(self.deps.opts.base_mac)
            if not port_attrs.mac_in_use(session, network_id, mac):
                return mac
        raise port_attrs.mac_conflict(network_id, "(generated)")

    def _groups(
        self,
        session: Session,
        ctx: RequestContext,
        row: models.Port,
        spec: PortSpec,
        security: bool,
    ) -> list[str]:
        if spec.security_groups is not None:
            groups = port_attrs.check_security_groups(
                session, ctx, row.project_id, spec.security_groups
            )
            if groups and not security:
                raise _sg_requires_security()
            return groups
        if not security or row.device_owner.startswith("network:") or not row.project_id:
            return []
        return [ensure_default(session, row.project_id)]

    def _allocate(
        self, session: Session, row: models.Port, requested: list[object] | None
    ) -> list[port_ips.FixedIp]:
        allocator = ipam.Allocator(session, serialized=self.deps.db.is_sqlite)
        subnets = network_subnets(session, row.network_id)
        subnets = candidate_subnets(session, self.deps.binder, row, subnets, requested)
        if requested is None:
            return port_ips.allocate_default(allocator, subnets, row)
        requests = port_ips.parse_requests(
            subnets,
            row.network_id,
            requested,
            row.device_owner,
            self.deps.opts.max_fixed_ips_per_port,
        )
        fixed = port_ips.allocate_requested(allocator, requests, row)
        return fixed + port_ips.auto_addresses(allocator, subnets, row, requests)

    # -- update ------------------------------------------------------------------------------

    def update(
        self,
        ctx: RequestContext,
        port_id: str,
        changes: PortChanges,
        check: Check[PortRecord],
        revision: int | None = None,
    ) -> PortRecord:
        def tx(session: Session) -> tuple[PortRecord, PortRecord]:
            row = visible_port(session, ctx, port_id)
            before = self.records(session, [row], ctx)[0]
            check(before)
            check_revision(row, revision)
            self._apply(session, ctx, row, changes, before)
            bump(row)
            session.flush()
            return before, self.records(session, [row], ctx)[0]

        before, after = self.deps.db.write(tx)
        self.deps.events.port_changed(after)
        if before.device_id != after.device_id and before.status == "ACTIVE":
            self.deps.events.port_status_changed(before, "ACTIVE", "DOWN")
        return after

    def _apply(
        self,
        session: Session,
        ctx: RequestContext,
        row: models.Port,
        changes: PortChanges,
        before: PortRecord,
    ) -> None:
        given = changes.given
        for attr in ("name", "admin_state_up", "device_id", "device_owner", "description"):
            if attr in given:
                value = getattr(changes, attr)
                setattr(row, attr, value if value is not None else "")
        if "mac_address" in given and changes.mac_address != row.mac_address:
            if row.binding_vif_type not in ("unbound", "binding_failed"):
                raise in_use(
                    "PortBound",
                    f"Unable to complete operation on port {row.id}, port is already bound, "
                    f"port type: {row.binding_vif_type}, old_mac {row.mac_address}, "
                    f"new_mac {changes.mac_address}.",
                )
            row.mac_address = self._mac(session, row.network_id, changes.mac_address, row.id)
        self._set_dns(row, changes)
        if "qos_policy_id" in given:
            policy = changes.qos_policy_id
            row.qos_policy_id = visible_policy(session, ctx, policy).id if policy else None
        if "port_security_enabled" in given:
            row.port_security_enabled = bool(changes.port_security_enabled)
        if "extra_dhcp_opts" in given:
            row.extra_dhcp_opts = port_attrs.check_dhcp_opts(changes.extra_dhcp_opts or [])
        if "allowed_address_pairs" in given:
            pairs = port_attrs.check_address_pairs(changes.allowed_address_pairs or [])
            row.allowed_address_pairs = port_attrs.fill_pair_macs(pairs, row.mac_address)
        if row.allowed_address_pairs and not row.port_security_enabled:
            raise conflict(
                "AddressPairAndPortSecurityRequired",
                "Port Security must be enabled in order to have allowed address pairs on a port.",
            )
        if "fixed_ips" in given:
            self._update_ips(session, row, changes.fixed_ips)
        self._update_groups(session, ctx, row, changes, before)
        rebind = False
        for attr, column in (
            ("host_id", "binding_host_id"),
            ("vnic_type", "binding_vnic_type"),
            ("profile", "binding_profile"),
        ):
            if attr in given:
                new: object = getattr(changes, attr)
                if attr == "vnic_type":
                    new = port_attrs.check_vnic_type(new)
                elif attr == "profile":
                    new = dict(changes.profile or {})
                else:
                    new = str(new or "")
                rebind = rebind or getattr(row, column) != new
                setattr(row, column, new)
        if rebind:
            self.deps.binder.bind(
                session, row, segments_of(session, [row.network_id])[row.network_id]
            )
            if "fixed_ips" not in given and row.binding_host_id:
                self._allocate_deferred(session, row)

    def _allocate_deferred(self, session: Session, row: models.Port) -> None:
        """A port on a routed network got no address until its host was known (upstream's
        deferred allocation): now it gets one from its host's segment."""
        subnets = network_subnets(session, row.network_id)
        if not any(s.segment_id for s in subnets) or port_ips.current(session, [row.id])[row.id]:
            return
        allocator = ipam.Allocator(session, serialized=self.deps.db.is_sqlite)
        subnets = candidate_subnets(session, self.deps.binder, row, subnets, None)
        port_ips.allocate_default(allocator, subnets, row)

    def _update_ips(
        self, session: Session, row: models.Port, requested: list[object] | None
    ) -> None:
        allocator = ipam.Allocator(session, serialized=self.deps.db.is_sqlite)
        subnets = network_subnets(session, row.network_id)
        candidate_subnets(session, self.deps.binder, row, subnets, requested or [])
        requests = port_ips.parse_requests(
            subnets,
            row.network_id,
            requested or [],
            row.device_owner,
            self.deps.opts.max_fixed_ips_per_port,
        )
        fixed = port_ips.update(session, allocator, row, requests)
        kept = {(ip.subnet_id, ip.ip_address) for ip in fixed}
        stmt = select(models.FloatingIP).where(models.FloatingIP.port_id == row.id)
        for fip in session.scalars(stmt):
            if not any(ip == fip.fixed_ip_address for _, ip in kept):
                fip.port_id = fip.fixed_ip_address = fip.router_id = None
                bump(fip)

    def _update_groups(
        self,
        session: Session,
        ctx: RequestContext,
        row: models.Port,
        changes: PortChanges,
        before: PortRecord,
    ) -> None:
        groups = list(before.security_groups)
        if "security_groups" in changes.given:
            groups = port_attrs.check_security_groups(
                session, ctx, row.project_id, changes.security_groups or []
            )
        if groups and not row.port_security_enabled:
            raise conflict(
                "PortSecurityPortHasSecurityGroup",
                "Port has security group associated. Cannot disable port security or IP "
                "address until security group is removed.",
            )
        if sorted(groups) == sorted(before.security_groups):
            return
        for binding in session.scalars(
            select(models.PortSecurityGroup).where(models.PortSecurityGroup.port_id == row.id)
        ):
            session.delete(binding)
        session.flush()
        for group_id in groups:
            session.add(models.PortSecurityGroup(port_id=row.id, security_group_id=group_id))

    # -- delete ------------------------------------------------------------------------------

    def delete(
        self,
        ctx: RequestContext,
        port_id: str,
        check: Check[PortRecord],
        revision: int | None = None,
    ) -> None:
        def tx(session: Session) -> PortRecord:
            row = visible_port(session, ctx, port_id)
            current = self.records(session, [row], ctx)[0]
            check(current)
            check_revision(row, revision)
            if row.device_owner in L3_OWNERS and self._l3_owner_exists(session, row):
                raise in_use(
                    "ServicePortInUse",
                    f"Port {row.id} cannot be deleted directly via the port API: "
                    f"has device owner {row.device_owner}.",
                )
            delete_port(session, row)
            return current

        deleted = self.deps.db.write(tx)
        self.deps.events.port_deleted(deleted)

    @staticmethod
    def _l3_owner_exists(session: Session, row: models.Port) -> bool:
        if row.device_owner == "network:floatingip":
            return session.get(models.FloatingIP, row.device_id) is not None
        return session.get(models.Router, row.device_id) is not None


def delete_port(session: Session, row: models.Port) -> None:
    """Delete a port, first disassociating floating IPs from it."""
    session.execute(
        update(models.FloatingIP)
        .where(models.FloatingIP.port_id == row.id)
        .values(port_id=None, fixed_ip_address=None, router_id=None, status="DOWN")
    )
    session.delete(row)


def _sg_requires_security() -> Exception:
    return BadRequest(
        "Port security must be enabled and port must have an IP address in order to use "
        "security groups.",
        code="PortSecurityAndIPRequiredForSecurityGroups",
    )
