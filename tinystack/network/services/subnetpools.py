"""Subnet pools: prefixes from which subnets are carved without overlap."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest
from tinystack.common.timeutils import new_uuid
from tinystack.network import ipam, models
from tinystack.network.exception import bad_request, in_use, invalid_input, not_found
from tinystack.network.services import listing, quotas
from tinystack.network.services.address_scopes import set_shared, visible_scope
from tinystack.network.services.authz import Check, Target
from tinystack.network.services.standard_attrs import (
    apply_fields,
    bump,
    check_revision,
    init_standard,
    owner_fields,
    standard_attrs,
)
from tinystack.network.services.visibility import project_of, shared_for, shared_ids, visible_clause

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
)


def parse_prefixes(raw: Any) -> list[ipam.IPNetwork]:
    if not isinstance(raw, list) or not raw:
        raise invalid_input("prefixes must be a non-empty list of CIDRs")
    nets = [ipam.parse_cidr(p) for p in raw]
    if len({n.version for n in nets}) != 1:
        raise invalid_input("Cannot mix IPv4 and IPv6 prefixes in a subnet pool")
    return ipam.collapse(nets)


def visible_pool(session: Session, ctx: RequestContext, pool_id: str) -> models.SubnetPool:
    row = session.get(models.SubnetPool, pool_id)
    if row is None or not (
        ctx.is_admin
        or row.project_id == project_of(ctx)
        or shared_ids(session, "subnetpool", [row.id], ctx, SHARED)
    ):
        raise not_found("subnetpool", pool_id)
    return row


def default_pool(session: Session, ctx: RequestContext, version: int) -> models.SubnetPool:
    rows = session.scalars(
        select(models.SubnetPool).where(
            models.SubnetPool.is_default.is_(True), models.SubnetPool.ip_version == version
        )
    ).all()
    for row in rows:
        try:
            return visible_pool(session, ctx, row.id)
        except Exception:  # invisible default pools are skipped
            continue
    raise bad_request("subnets", f"No default subnetpool found for IPv{version}")


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


class SubnetPools:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def render(
        self, session: Session, rows: Sequence[models.SubnetPool], ctx: RequestContext | None = None
    ) -> list[dict[str, Any]]:
        shared = shared_for(session, "subnetpool", [r.id for r in rows], ctx)
        return [
            {
                "id": r.id,
                "name": r.name,
                **owner_fields(r.project_id),
                "ip_version": r.ip_version,
                "prefixes": list(r.prefixes),
                "default_prefixlen": r.default_prefixlen,
                "min_prefixlen": r.min_prefixlen,
                "max_prefixlen": r.max_prefixlen,
                "default_quota": r.default_quota,
                "is_default": r.is_default,
                "shared": r.id in shared,
                "address_scope_id": r.address_scope_id,
                **standard_attrs(r),
            }
            for r in rows
        ]

    def list_items(self, ctx: RequestContext, query: listing.ListQuery) -> list[dict[str, Any]]:
        clause = visible_clause(models.SubnetPool, "subnetpool", ctx, (SHARED,))
        with self.deps.db.reader() as session:
            stmt = select(models.SubnetPool).where(clause)
            return listing.run(
                session, SPEC, stmt, query, lambda s, rows: self.render(s, rows, ctx)
            )

    def show(self, ctx: RequestContext, pool_id: str) -> dict[str, Any]:
        with self.deps.db.reader() as session:
            return self.render(session, [visible_pool(session, ctx, pool_id)], ctx)[0]

    def create(
        self, ctx: RequestContext, values: dict[str, Any], check: Check[Target]
    ) -> dict[str, Any]:
        project_id = values.get("project_id") or project_of(ctx)
        check({**values, **owner_fields(project_id)})
        prefixes = parse_prefixes(values.get("prefixes"))
        version = prefixes[0].version

        def tx(session: Session) -> dict[str, Any]:
            quotas.enforce(session, self.deps.opts, project_id, {"subnetpool": 1})
            row = models.SubnetPool(
                id=new_uuid(),
                project_id=project_id,
                name=values.get("name") or "",
                ip_version=version,
                prefixes=[str(p) for p in prefixes],
                default_quota=values.get("default_quota"),
                is_default=bool(values.get("is_default", False)),
                tags=sorted(set(values.get("tags") or [])),
            )
            self._set_lengths(row, values, version)
            init_standard(row, values.get("description"))
            self._set_scope(session, ctx, row, values.get("address_scope_id"))
            self._check_default(session, row)
            session.add(row)
            session.flush()
            set_shared(session, "subnetpool", row, bool(values.get("shared")))
            session.flush()
            return self.render(session, [row], ctx)[0]

        return self.deps.db.write(tx)

    @staticmethod
    def _set_lengths(row: models.SubnetPool, values: dict[str, Any], version: int) -> None:
        low, high = BOUNDS[version]
        current_min = row.min_prefixlen if row.min_prefixlen is not None else low
        current_max = row.max_prefixlen if row.max_prefixlen is not None else high
        minimum = listing.to_int(values.get("min_prefixlen", current_min))
        maximum = listing.to_int(values.get("max_prefixlen", current_max))
        fallback = row.default_prefixlen if row.default_prefixlen is not None else minimum
        default = listing.to_int(values.get("default_prefixlen", fallback))
        if not (0 <= minimum <= default <= maximum <= high):
            raise invalid_input(
                "Illegal prefix bounds: min_prefixlen <= default_prefixlen <= max_prefixlen "
                f"within 0-{high} is required"
            )
        row.min_prefixlen, row.default_prefixlen, row.max_prefixlen = minimum, default, maximum

    def _set_scope(
        self, session: Session, ctx: RequestContext, row: models.SubnetPool, scope_id: Any
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
        values: dict[str, Any],
        check: Check[Target],
        revision: int | None = None,
    ) -> dict[str, Any]:
        def tx(session: Session) -> dict[str, Any]:
            row = visible_pool(session, ctx, pool_id)
            current = self.render(session, [row], ctx)[0]
            check(current)
            check_revision(row, revision)
            apply_fields(
                row,
                values,
                {
                    "name": "name",
                    "description": "description",
                    "default_quota": "default_quota",
                    "is_default": "is_default",
                },
            )
            if "prefixes" in values:
                self._grow(row, parse_prefixes(values["prefixes"]))
            self._set_lengths(row, values, row.ip_version)
            if "address_scope_id" in values:
                self._set_scope(session, ctx, row, values["address_scope_id"])
            self._check_default(session, row)
            bump(row)
            session.flush()
            return self.render(session, [row], ctx)[0]

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
        self, ctx: RequestContext, pool_id: str, prefixes: Any, add: bool, check: Check[Target]
    ) -> list[str]:
        def tx(session: Session) -> list[str]:
            row = visible_pool(session, ctx, pool_id)
            check(self.render(session, [row], ctx)[0])
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
        self, ctx: RequestContext, pool_id: str, check: Check[Target], revision: int | None = None
    ) -> None:
        def tx(session: Session) -> None:
            row = visible_pool(session, ctx, pool_id)
            check(self.render(session, [row], ctx)[0])
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
            session.execute(
                delete(models.RbacPolicy).where(
                    models.RbacPolicy.object_type == "subnetpool",
                    models.RbacPolicy.object_id == row.id,
                )
            )
            session.delete(row)

        self.deps.db.write(tx)
