"""Subnet pools: prefixes from which subnets are carved without overlap."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest
from tinystack.common.timeutils import isotime, new_uuid
from tinystack.network import ipam, models
from tinystack.network.exception import bad_request, in_use, invalid_input
from tinystack.network.services import listing, quotas
from tinystack.network.services._rows import visible_pool, visible_scope
from tinystack.network.services.authz import Check
from tinystack.network.services.records import SubnetPoolRecord
from tinystack.network.services.standard_attrs import (
    bump,
    check_revision,
    init_standard,
)
from tinystack.network.services.visibility import (
    drop_grants,
    project_of,
    set_shared,
    shared_for,
    visible_clause,
)

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps

SHARED = "access_as_shared"
BOUNDS = {4: (8, 32), 6: (64, 128)}
SPEC = listing.ListSpec(
    resource="subnetpool",
    model=models.SubnetPool,
    columns={
        "id": models.SubnetPool.id,
        "name": models.SubnetPool.name,
        "project_id": models.SubnetPool.project_id,
        "tenant_id": models.SubnetPool.project_id,
        "ip_version": models.SubnetPool.ip_version,
        "is_default": models.SubnetPool.is_default,
        "address_scope_id": models.SubnetPool.address_scope_id,
        "default_prefixlen": models.SubnetPool.default_prefixlen,
        "min_prefixlen": models.SubnetPool.min_prefixlen,
        "max_prefixlen": models.SubnetPool.max_prefixlen,
        "description": models.SubnetPool.description,
    },
    converters={
        "ip_version": listing.to_int,
        "is_default": listing.to_bool,
        "shared": listing.to_bool,
        "default_prefixlen": listing.to_int,
        "min_prefixlen": listing.to_int,
        "max_prefixlen": listing.to_int,
    },
    sortable=frozenset({"id", "name", "project_id", "tenant_id", "ip_version"}),
    getters={
        "id": lambda p: p.id,
        "name": lambda p: p.name,
        "project_id": lambda p: p.project_id,
        "tenant_id": lambda p: p.project_id,
        "ip_version": lambda p: p.ip_version,
        "prefixes": lambda p: p.prefixes,
        "default_prefixlen": lambda p: p.default_prefixlen,
        "min_prefixlen": lambda p: p.min_prefixlen,
        "max_prefixlen": lambda p: p.max_prefixlen,
        "default_quota": lambda p: p.default_quota,
        "is_default": lambda p: p.is_default,
        "shared": lambda p: p.shared,
        "address_scope_id": lambda p: p.address_scope_id,
        "description": lambda p: p.description,
        "created_at": lambda p: isotime(p.created_at),
        "updated_at": lambda p: isotime(p.updated_at),
        "revision_number": lambda p: p.revision_number,
        "tags": lambda p: p.tags,
    },
)


@dataclass(frozen=True, slots=True)
class SubnetPoolChanges:
    """An update of a subnet pool: the attributes in ``given`` (an explicit null clears
    ``default_quota`` or ``address_scope_id``)."""

    name: str | None = None
    description: str | None = None
    prefixes: tuple[str, ...] | None = None
    default_prefixlen: int | None = None
    min_prefixlen: int | None = None
    max_prefixlen: int | None = None
    default_quota: int | None = None
    address_scope_id: str | None = None
    is_default: bool | None = None
    given: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class SubnetPoolSpec(SubnetPoolChanges):
    """A subnet pool to create."""

    project_id: str | None = None
    shared: bool = False
    tags: tuple[str, ...] = ()


def parse_prefixes(raw: Sequence[object] | None) -> list[ipam.IPNetwork]:
    if not isinstance(raw, (list, tuple)) or not raw:
        raise invalid_input("prefixes must be a non-empty list of CIDRs")
    nets = [ipam.parse_cidr(p) for p in raw]
    if len({n.version for n in nets}) != 1:
        raise invalid_input("Cannot mix IPv4 and IPv6 prefixes in a subnet pool")
    return ipam.collapse(nets)


def allocate_prefix(
    session: Session, pool: models.SubnetPool, cidr: str | None, prefixlen: int | None
) -> str:
    """A CIDR from the pool: the requested one if free and inside, else the first free one."""
    prefixes = [ipaddress.ip_network(p) for p in pool.prefixes]
    used = [
        ipaddress.ip_network(c)
        for c in session.scalars(
            select(models.Subnet.cidr).where(models.Subnet.subnetpool_id == pool.id)
        )
    ]

    def free(net: ipam.IPNetwork) -> bool:
        return not any(ipam.overlaps(net, u) for u in used)

    if cidr is not None:
        net = ipaddress.ip_network(cidr)
        if not any(ipam.subnet_of(net, p) for p in prefixes):
            raise BadRequest(
                f"Cidr {cidr} is not within the prefixes of subnet pool {pool.id}",
                code="SubnetAllocationError",
            )
        if not pool.min_prefixlen <= net.prefixlen <= pool.max_prefixlen:
            raise _bounds(net.prefixlen, pool)
        if not free(net):
            raise BadRequest(
                f"Failed to allocate subnet: {cidr} overlaps an allocated subnet",
                code="SubnetAllocationError",
            )
        return str(net)
    length = pool.default_prefixlen if prefixlen is None else prefixlen
    if not pool.min_prefixlen <= length <= pool.max_prefixlen:
        raise _bounds(length, pool)
    for prefix in prefixes:
        if prefix.prefixlen > length:
            continue
        for candidate in prefix.subnets(new_prefix=length):
            if free(candidate):
                return str(candidate)
    raise BadRequest(
        "Failed to allocate subnet: insufficient prefix space to allocate a subnet "
        f"of size /{length}",
        code="SubnetAllocationError",
    )


def _bounds(length: int, pool: models.SubnetPool) -> BadRequest:
    return BadRequest(
        f"Illegal prefix bounds: prefixlen={length}, must be between "
        f"{pool.min_prefixlen} and {pool.max_prefixlen}",
        code="IllegalSubnetPoolPrefixBounds",
    )


def _given(changes: SubnetPoolChanges, name: str, current: object) -> object:
    """The attribute's new value if the client set it, else ``current``."""
    return getattr(changes, name) if name in changes.given else current


class SubnetPools:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def records(
        self, session: Session, rows: Sequence[models.SubnetPool], ctx: RequestContext | None = None
    ) -> list[SubnetPoolRecord]:
        shared = shared_for(session, "subnetpool", [r.id for r in rows], ctx)
        return [
            SubnetPoolRecord(
                id=r.id,
                name=r.name,
                project_id=r.project_id,
                ip_version=r.ip_version,
                prefixes=tuple(r.prefixes),
                default_prefixlen=r.default_prefixlen,
                min_prefixlen=r.min_prefixlen,
                max_prefixlen=r.max_prefixlen,
                default_quota=r.default_quota,
                is_default=r.is_default,
                shared=r.id in shared,
                address_scope_id=r.address_scope_id,
                description=r.description,
                created_at=r.created_at,
                updated_at=r.updated_at,
                revision_number=r.revision_number,
                tags=tuple(r.tags or ()),
            )
            for r in rows
        ]

    def list_items(self, ctx: RequestContext, query: listing.ListQuery) -> list[SubnetPoolRecord]:
        clause = visible_clause(models.SubnetPool, "subnetpool", ctx, (SHARED,))
        with self.deps.db.reader() as session:
            stmt = select(models.SubnetPool).where(clause)
            return listing.run(
                session, SPEC, stmt, query, lambda s, rows: self.records(s, rows, ctx)
            )

    def show(self, ctx: RequestContext, pool_id: str) -> SubnetPoolRecord:
        with self.deps.db.reader() as session:
            return self.records(session, [visible_pool(session, ctx, pool_id)], ctx)[0]

    def create(self, ctx: RequestContext, spec: SubnetPoolSpec) -> SubnetPoolRecord:
        """Create a subnet pool (the API authorized the request already)."""
        project_id = spec.project_id or project_of(ctx)
        prefixes = parse_prefixes(spec.prefixes)
        version = prefixes[0].version

        def tx(session: Session) -> SubnetPoolRecord:
            quotas.enforce(session, self.deps.opts, project_id, {"subnetpool": 1})
            row = models.SubnetPool(
                id=new_uuid(),
                project_id=project_id,
                name=spec.name or "",
                ip_version=version,
                prefixes=[str(p) for p in prefixes],
                default_quota=spec.default_quota,
                is_default=bool(spec.is_default),
                tags=sorted(set(spec.tags)),
            )
            self._set_lengths(row, spec, version)
            init_standard(row, spec.description)
            self._set_scope(session, ctx, row, spec.address_scope_id)
            self._check_default(session, row)
            session.add(row)
            session.flush()
            set_shared(session, "subnetpool", row, spec.shared)
            session.flush()
            return self.records(session, [row], ctx)[0]

        return self.deps.db.write(tx)

    @staticmethod
    def _set_lengths(row: models.SubnetPool, changes: SubnetPoolChanges, version: int) -> None:
        low, high = BOUNDS[version]
        current_min = row.min_prefixlen if row.min_prefixlen is not None else low
        current_max = row.max_prefixlen if row.max_prefixlen is not None else high
        minimum = listing.to_int(_given(changes, "min_prefixlen", current_min))
        maximum = listing.to_int(_given(changes, "max_prefixlen", current_max))
        fallback = row.default_prefixlen if row.default_prefixlen is not None else minimum
        default = listing.to_int(_given(changes, "default_prefixlen", fallback))
        if not (0 <= minimum <= default <= maximum <= high):
            raise invalid_input(
                "Illegal prefix bounds: min_prefixlen <= default_prefixlen <= max_prefixlen "
                f"within 0-{high} is required"
            )
        row.min_prefixlen, row.default_prefixlen, row.max_prefixlen = minimum, default, maximum

    def _set_scope(
        self, session: Session, ctx: RequestContext, row: models.SubnetPool, scope_id: str | None
    ) -> None:
        if scope_id is None:
            row.address_scope_id = None
            return
        scope = visible_scope(session, ctx, str(scope_id))
        if scope.ip_version != row.ip_version:
            raise invalid_input(
                f"Illegal subnetpool association: subnetpool {row.id} cannot be associated "
                f"with address scope {scope.id} (IP version mismatch)"
            )
        others = session.scalars(
            select(models.SubnetPool).where(
                models.SubnetPool.address_scope_id == scope.id, models.SubnetPool.id != row.id
            )
        ).all()
        mine = [ipaddress.ip_network(p) for p in row.prefixes]
        for other in others:
            for prefix in other.prefixes:
                theirs = ipaddress.ip_network(prefix)
                if any(ipam.overlaps(m, theirs) for m in mine):
                    raise BadRequest(
                        f"Illegal subnetpool association: subnetpool {row.id} overlaps "
                        f"subnetpool {other.id} in address scope {scope.id}",
                        code="AddressScopePrefixConflict",
                    )
        row.address_scope_id = scope.id

    @staticmethod
    def _check_default(session: Session, row: models.SubnetPool) -> None:
        if not row.is_default:
            return
        other = session.scalars(
            select(models.SubnetPool.id).where(
                models.SubnetPool.is_default.is_(True),
                models.SubnetPool.ip_version == row.ip_version,
                models.SubnetPool.id != row.id,
            )
        ).first()
        if other is not None:
            raise bad_request(
                "subnetpool",
                "A default subnetpool for this IP family has already been set. "
                "Only one default may exist per IP family",
            )

    def update(
        self,
        ctx: RequestContext,
        pool_id: str,
        changes: SubnetPoolChanges,
        check: Check[SubnetPoolRecord],
        revision: int | None = None,
    ) -> SubnetPoolRecord:
        def tx(session: Session) -> SubnetPoolRecord:
            row = visible_pool(session, ctx, pool_id)
            check(self.records(session, [row], ctx)[0])
            check_revision(row, revision)
            for column in ("name", "description", "default_quota", "is_default"):
                if column in changes.given:
                    setattr(row, column, getattr(changes, column))
            if "prefixes" in changes.given:
                self._grow(row, parse_prefixes(changes.prefixes))
            self._set_lengths(row, changes, row.ip_version)
            if "address_scope_id" in changes.given:
                self._set_scope(session, ctx, row, changes.address_scope_id)
            self._check_default(session, row)
            bump(row)
            session.flush()
            return self.records(session, [row], ctx)[0]

        return self.deps.db.write(tx)

    @staticmethod
    def _grow(row: models.SubnetPool, new: list[ipam.IPNetwork]) -> None:
        if any(n.version != row.ip_version for n in new):
            raise invalid_input("Prefixes must have the subnet pool's IP version")
        for old in row.prefixes:
            net = ipaddress.ip_network(old)
            if not any(ipam.subnet_of(net, n) for n in new):
                raise invalid_input(
                    f"Illegal update to prefixes: the new prefixes must contain {old}"
                )
        row.prefixes = [str(n) for n in new]

    def change_prefixes(
        self,
        ctx: RequestContext,
        pool_id: str,
        prefixes: Sequence[object],
        add: bool,
        check: Check[SubnetPoolRecord],
    ) -> list[str]:
        def tx(session: Session) -> list[str]:
            row = visible_pool(session, ctx, pool_id)
            check(self.records(session, [row], ctx)[0])
            change = parse_prefixes(prefixes)
            current = [ipaddress.ip_network(p) for p in row.prefixes]
            if add:
                merged = ipam.collapse([*current, *change])
            else:
                merged = self._shrink(session, row, current, change)
            row.prefixes = [str(n) for n in merged]
            bump(row)
            return list(row.prefixes)

        return self.deps.db.write(tx)

    @staticmethod
    def _shrink(
        session: Session, row: models.SubnetPool, current: list[Any], remove: list[Any]
    ) -> list[Any]:
        used = session.scalars(
            select(models.Subnet.cidr).where(models.Subnet.subnetpool_id == row.id)
        ).all()
        for cidr in used:
            net = ipaddress.ip_network(cidr)
            if any(ipam.overlaps(net, r) for r in remove):
                raise in_use(
                    "SubnetPoolInUse",
                    f"Unable to complete operation on subnet pool {row.id}: prefix "
                    f"{cidr} is in use.",
                )
        left = []
        for net in current:
            for r in remove:
                if r.version == net.version and r.subnet_of(net):
                    left.extend(net.address_exclude(r))
                    break
                if r.version == net.version and net.subnet_of(r):
                    break
            else:
                left.append(net)
        return ipam.collapse(left)

    def delete(
        self,
        ctx: RequestContext,
        pool_id: str,
        check: Check[SubnetPoolRecord],
        revision: int | None = None,
    ) -> None:
        def tx(session: Session) -> None:
            row = visible_pool(session, ctx, pool_id)
            check(self.records(session, [row], ctx)[0])
            check_revision(row, revision)
            used = session.scalars(
                select(models.Subnet.id).where(models.Subnet.subnetpool_id == row.id)
            ).first()
            if used is not None:
                raise in_use(
                    "SubnetPoolInUse",
                    f"Unable to complete operation on subnet pool {row.id}: "
                    "one or more subnets are allocated from it.",
                )
            drop_grants(session, "subnetpool", row.id)
            session.delete(row)

        self.deps.db.write(tx)
