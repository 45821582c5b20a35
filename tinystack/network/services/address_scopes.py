"""Address scopes: subnet pools in one scope never overlap; shared through RBAC."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.timeutils import new_uuid
from tinystack.network import models
from tinystack.network.exception import in_use, not_found
from tinystack.network.services import listing
from tinystack.network.services.authz import Check
from tinystack.network.services.standard_attrs import (
    apply_fields,
    bump,
    check_revision,
    init_standard,
    owner_fields,
    standard_attrs,
)
from tinystack.network.services.subnet_validation import check_version
from tinystack.network.services.visibility import project_of, shared_for, shared_ids, visible_clause

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
)


def set_shared(session: Session, object_type: str, row: Any, shared: bool) -> None:
    """Create or remove the wildcard ``access_as_shared`` entry of an object."""
    stmt = select(models.RbacPolicy).where(
        models.RbacPolicy.object_type == object_type,
        models.RbacPolicy.object_id == row.id,
        models.RbacPolicy.action == SHARED,
        models.RbacPolicy.target_project == "*",
    )
    existing = session.scalars(stmt).first()
    if shared and existing is None:
        session.add(
            models.RbacPolicy(
                id=new_uuid(),
                project_id=row.project_id,
                object_type=object_type,
                object_id=row.id,
                action=SHARED,
                target_project="*",
            )
        )
    elif not shared and existing is not None:
        session.delete(existing)


def visible_scope(session: Session, ctx: RequestContext, scope_id: str) -> models.AddressScope:
    row = session.get(models.AddressScope, scope_id)
    if row is None or not (
        ctx.is_admin
        or row.project_id == project_of(ctx)
        or shared_ids(session, "address_scope", [row.id], ctx, SHARED)
    ):
        raise not_found("address_scope", scope_id)
    return row


class AddressScopes:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def render(
        self,
        session: Session,
        rows: Sequence[models.AddressScope],
        ctx: RequestContext | None = None,
    ) -> list[dict[str, Any]]:
        shared = shared_for(session, "address_scope", [r.id for r in rows], ctx)
        return [
            {
                "id": r.id,
                "name": r.name,
                **owner_fields(r.project_id),
                "ip_version": r.ip_version,
                "shared": r.id in shared,
                **standard_attrs(r),
            }
            for r in rows
        ]

    def list_items(self, ctx: RequestContext, query: listing.ListQuery) -> list[dict[str, Any]]:
        clause = visible_clause(models.AddressScope, "address_scope", ctx, (SHARED,))
        with self.deps.db.reader() as session:
            stmt = select(models.AddressScope).where(clause)
            return listing.run(
                session, SPEC, stmt, query, lambda s, rows: self.render(s, rows, ctx)
            )

    def show(self, ctx: RequestContext, scope_id: str) -> dict[str, Any]:
        with self.deps.db.reader() as session:
            return self.render(session, [visible_scope(session, ctx, scope_id)], ctx)[0]

    def create(self, ctx: RequestContext, values: dict[str, Any], check: Check) -> dict[str, Any]:
        project_id = values.get("project_id") or project_of(ctx)
        check({**values, **owner_fields(project_id)})
        version = check_version(values.get("ip_version"))

        def tx(session: Session) -> dict[str, Any]:
            row = models.AddressScope(
                id=new_uuid(),
                project_id=project_id,
                name=values.get("name") or "",
                ip_version=version,
                tags=sorted(set(values.get("tags") or [])),
            )
            init_standard(row, values.get("description"))
            session.add(row)
            session.flush()
            set_shared(session, "address_scope", row, bool(values.get("shared")))
            session.flush()
            return self.render(session, [row], ctx)[0]

        return self.deps.db.write(tx)

    def update(
        self,
        ctx: RequestContext,
        scope_id: str,
        values: dict[str, Any],
        check: Check,
        revision: int | None = None,
    ) -> dict[str, Any]:
        def tx(session: Session) -> dict[str, Any]:
            row = visible_scope(session, ctx, scope_id)
            current = self.render(session, [row], ctx)[0]
            check(current)
            check_revision(row, revision)
            changed = apply_fields(row, values, {"name": "name", "description": "description"})
            if "shared" in values and bool(values["shared"]) != current["shared"]:
                set_shared(session, "address_scope", row, bool(values["shared"]))
                changed = True
            if changed:
                bump(row)
            session.flush()
            return self.render(session, [row], ctx)[0]

        return self.deps.db.write(tx)

    def delete(
        self, ctx: RequestContext, scope_id: str, check: Check, revision: int | None = None
    ) -> None:
        def tx(session: Session) -> None:
            row = visible_scope(session, ctx, scope_id)
            check(self.render(session, [row], ctx)[0])
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
            session.execute(
                delete(models.RbacPolicy).where(
                    models.RbacPolicy.object_type == "address_scope",
                    models.RbacPolicy.object_id == row.id,
                )
            )
            session.delete(row)

        self.deps.db.write(tx)
