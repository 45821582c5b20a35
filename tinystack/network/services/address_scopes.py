"""Address scopes: subnet pools in one scope never overlap; shared through RBAC."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.timeutils import isotime, new_uuid
from tinystack.network import models
from tinystack.network.exception import in_use
from tinystack.network.services import listing
from tinystack.network.services._rows import visible_scope
from tinystack.network.services.authz import Check
from tinystack.network.services.records import AddressScopeRecord
from tinystack.network.services.standard_attrs import (
    apply_given,
    bump,
    check_revision,
    init_standard,
)
from tinystack.network.services.subnet_validation import check_version
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
SPEC = listing.ListSpec(
    resource="address_scope",
    model=models.AddressScope,
    columns={
        "id": models.AddressScope.id,
        "name": models.AddressScope.name,
        "project_id": models.AddressScope.project_id,
        "tenant_id": models.AddressScope.project_id,
        "ip_version": models.AddressScope.ip_version,
        "description": models.AddressScope.description,
    },
    converters={"ip_version": listing.to_int, "shared": listing.to_bool},
    sortable=frozenset({"id", "name", "project_id", "tenant_id", "ip_version"}),
    getters={
        "id": lambda s: s.id,
        "name": lambda s: s.name,
        "project_id": lambda s: s.project_id,
        "tenant_id": lambda s: s.project_id,
        "ip_version": lambda s: s.ip_version,
        "shared": lambda s: s.shared,
        "description": lambda s: s.description,
        "revision_number": lambda s: s.revision_number,
        "created_at": lambda s: isotime(s.created_at),
        "updated_at": lambda s: isotime(s.updated_at),
        "tags": lambda s: s.tags,
    },
)


@dataclass(frozen=True, slots=True)
class AddressScopeSpec:
    """An address scope to create; None: the default."""

    ip_version: int
    project_id: str | None = None
    name: str | None = None
    description: str | None = None
    shared: bool = False
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AddressScopeChanges:
    """An update of an address scope: the attributes in ``given``."""

    name: str | None = None
    description: str | None = None
    shared: bool | None = None
    given: frozenset[str] = frozenset()


class AddressScopes:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def records(
        self,
        session: Session,
        rows: Sequence[models.AddressScope],
        ctx: RequestContext | None = None,
    ) -> list[AddressScopeRecord]:
        shared = shared_for(session, "address_scope", [r.id for r in rows], ctx)
        return [
            AddressScopeRecord(
                id=r.id,
                name=r.name,
                project_id=r.project_id,
                ip_version=r.ip_version,
                shared=r.id in shared,
                description=r.description,
                created_at=r.created_at,
                updated_at=r.updated_at,
                revision_number=r.revision_number,
                tags=tuple(r.tags or ()),
            )
            for r in rows
        ]

    def list_items(self, ctx: RequestContext, query: listing.ListQuery) -> list[AddressScopeRecord]:
        clause = visible_clause(models.AddressScope, "address_scope", ctx, (SHARED,))
        with self.deps.db.reader() as session:
            stmt = select(models.AddressScope).where(clause)
            return listing.run(
                session, SPEC, stmt, query, lambda s, rows: self.records(s, rows, ctx)
            )

    def show(self, ctx: RequestContext, scope_id: str) -> AddressScopeRecord:
        with self.deps.db.reader() as session:
            return self.records(session, [visible_scope(session, ctx, scope_id)], ctx)[0]

    def create(self, ctx: RequestContext, spec: AddressScopeSpec) -> AddressScopeRecord:
        """Create an address scope (the API authorized the request already)."""
        project_id = spec.project_id or project_of(ctx)
        version = check_version(spec.ip_version)

        def tx(session: Session) -> AddressScopeRecord:
            row = models.AddressScope(
                id=new_uuid(),
                project_id=project_id,
                name=spec.name or "",
                ip_version=version,
                tags=sorted(set(spec.tags)),
            )
            init_standard(row, spec.description)
            session.add(row)
            session.flush()
            set_shared(session, "address_scope", row, spec.shared)
            session.flush()
            return self.records(session, [row], ctx)[0]

        return self.deps.db.write(tx)

    def update(
        self,
        ctx: RequestContext,
        scope_id: str,
        changes: AddressScopeChanges,
        check: Check[AddressScopeRecord],
        revision: int | None = None,
    ) -> AddressScopeRecord:
        def tx(session: Session) -> AddressScopeRecord:
            row = visible_scope(session, ctx, scope_id)
            current = self.records(session, [row], ctx)[0]
            check(current)
            check_revision(row, revision)
            changed = apply_given(row, changes, ("name", "description"))
            if "shared" in changes.given and bool(changes.shared) != current.shared:
                set_shared(session, "address_scope", row, bool(changes.shared))
                changed = True
            if changed:
                bump(row)
            session.flush()
            return self.records(session, [row], ctx)[0]

        return self.deps.db.write(tx)

    def delete(
        self,
        ctx: RequestContext,
        scope_id: str,
        check: Check[AddressScopeRecord],
        revision: int | None = None,
    ) -> None:
        def tx(session: Session) -> None:
            row = visible_scope(session, ctx, scope_id)
            check(self.records(session, [row], ctx)[0])
            check_revision(row, revision)
            used = session.scalars(
                select(models.SubnetPool.id).where(models.SubnetPool.address_scope_id == row.id)
            ).first()
            if used is not None:
                raise in_use(
                    "AddressScopeInUse",
                    f"Unable to complete operation on address scope {row.id}. "
                    "There are one or more subnet pools in use on the address scope.",
                )
            drop_grants(session, "address_scope", row.id)
            session.delete(row)

        self.deps.db.write(tx)
