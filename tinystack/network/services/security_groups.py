"""Security groups: a default group per project (created on first use) and user groups."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.timeutils import new_uuid
from tinystack.network import models
from tinystack.network.exception import conflict, in_use, not_found
from tinystack.network.services import listing, quotas
from tinystack.network.services.address_scopes import set_shared
from tinystack.network.services.authz import Check, Target
from tinystack.network.services.group_rules import render_rules
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
DEFAULT_NAME = "default"
SPEC = listing.ListSpec(
    resource="security_group",
    model=models.SecurityGroup,
    columns={
        "id": models.SecurityGroup.id,
        "name": models.SecurityGroup.name,
        "project_id": models.SecurityGroup.project_id,
        "tenant_id": models.SecurityGroup.project_id,
        "stateful": models.SecurityGroup.stateful,
        "description": models.SecurityGroup.description,
        "revision_number": models.SecurityGroup.revision_number,
    },
    converters={
        "stateful": listing.to_bool,
        "shared": listing.to_bool,
        "revision_number": listing.to_int,
    },
    sortable=frozenset({"id", "name", "project_id", "tenant_id"}),
)


def new_rule(
    session: Session,
    group: models.SecurityGroup,
    direction: str,
    ethertype: str,
    remote_group_id: str | None = None,
) -> models.SecurityGroupRule:
    rule = models.SecurityGroupRule(
        id=new_uuid(),
        project_id=group.project_id,
        security_group_id=group.id,
        direction=direction,
        ethertype=ethertype,
        remote_group_id=remote_group_id,
    )
    init_standard(rule)
    session.add(rule)
    return rule


def create_group(
    session: Session, project_id: str, name: str, description: str, default: bool = False
) -> models.SecurityGroup:
    """A group with upstream's default rules: all egress; for a default group also all
    ingress from members of the group itself."""
    group = models.SecurityGroup(id=new_uuid(), project_id=project_id, name=name, tags=[])
    init_standard(group, description)
    session.add(group)
    session.flush()
    for ethertype in ("IPv4", "IPv6"):
        new_rule(session, group, "egress", ethertype)
        if default:
            new_rule(session, group, "ingress", ethertype, remote_group_id=group.id)
    return group


def ensure_default(session: Session, project_id: str) -> str:
    """The project's default group id, creating it (and its rules) on first use."""
    found = session.get(models.DefaultSecurityGroup, project_id)
    if found is not None:
        return found.security_group_id
    try:
        with session.begin_nested():
            group = create_group(session, project_id, DEFAULT_NAME, "Default security group", True)
            session.add(
                models.DefaultSecurityGroup(project_id=project_id, security_group_id=group.id)
            )
            session.flush()
    except IntegrityError:  # created concurrently by another transaction
        found = session.get(models.DefaultSecurityGroup, project_id)
        if found is None:
            raise
        return found.security_group_id
    return group.id


def visible_group(session: Session, ctx: RequestContext, group_id: str) -> models.SecurityGroup:
    row = session.get(models.SecurityGroup, group_id)
    if row is None or not (
        ctx.is_admin
        or row.project_id == project_of(ctx)
        or shared_ids(session, "security_group", [row.id], ctx, SHARED)
    ):
        raise not_found("security_group", group_id)
    return row


class SecurityGroups:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def ensure_default(self, project_id: str) -> None:
        """Create the project's default group if this process has not seen it yet."""
        if not project_id or project_id in self.deps.default_groups:
            return
        with self.deps.db.reader() as session:
            exists = session.get(models.DefaultSecurityGroup, project_id) is not None
        if not exists:
            self.deps.db.write(lambda s: ensure_default(s, project_id))
        self.deps.default_groups.add(project_id)

    def render(
        self,
        session: Session,
        rows: Sequence[models.SecurityGroup],
        ctx: RequestContext | None = None,
    ) -> list[dict[str, Any]]:
        ids = [r.id for r in rows]
        rules: dict[str, list[dict[str, Any]]] = defaultdict(list)
        if ids:
            stmt = select(models.SecurityGroupRule).where(
                models.SecurityGroupRule.security_group_id.in_(ids)
            )
            for rule in render_rules(session, session.scalars(stmt).all()):
                rules[rule["security_group_id"]].append(rule)
        shared = shared_for(session, "security_group", ids, ctx)
        return [
            {
                "id": r.id,
                "name": r.name,
                **owner_fields(r.project_id),
                "stateful": r.stateful,
                "shared": r.id in shared,
                "security_group_rules": rules[r.id],
                **standard_attrs(r),
            }
            for r in rows
        ]

    def list_items(self, ctx: RequestContext, query: listing.ListQuery) -> list[dict[str, Any]]:
        # as upstream: the listed project's default group exists once anyone lists it (so
        # compute, listing a project's groups with its service token, finds "default")
        wanted = query.filters.get("project_id") or query.filters.get("tenant_id") or []
        self.ensure_default(str(wanted[0]) if len(wanted) == 1 else project_of(ctx))
        clause = visible_clause(models.SecurityGroup, "security_group", ctx, (SHARED,))
        with self.deps.db.reader() as session:
            stmt = select(models.SecurityGroup).where(clause)
            return listing.run(
                session, SPEC, stmt, query, lambda s, rows: self.render(s, rows, ctx)
            )

    def show(self, ctx: RequestContext, group_id: str) -> dict[str, Any]:
        with self.deps.db.reader() as session:
            return self.render(session, [visible_group(session, ctx, group_id)], ctx)[0]

    def create(
        self, ctx: RequestContext, values: dict[str, Any], check: Check[Target]
    ) -> dict[str, Any]:
        project_id = values.get("project_id") or project_of(ctx)
        check({**values, **owner_fields(project_id)})

        def tx(session: Session) -> dict[str, Any]:
            ensure_default(session, project_id)
            if values.get("name") == DEFAULT_NAME:  # the project's default exists now
                raise default_exists()
            quotas.enforce(session, self.deps.opts, project_id, {"security_group": 1})
            group = create_group(
                session, project_id, values.get("name") or "", values.get("description") or ""
            )
            group.stateful = bool(values.get("stateful", True))
            group.tags = sorted(set(values.get("tags") or []))
            session.flush()
            return self.render(session, [group], ctx)[0]

        result = self.deps.db.write(tx)
        self.deps.default_groups.add(project_id)
        return result

    def update(
        self,
        ctx: RequestContext,
        group_id: str,
        values: dict[str, Any],
        check: Check[Target],
        revision: int | None = None,
    ) -> dict[str, Any]:
        def tx(session: Session) -> dict[str, Any]:
            row = visible_group(session, ctx, group_id)
            current = self.render(session, [row], ctx)[0]
            check(current)
            check_revision(row, revision)
            is_default = session.get(models.DefaultSecurityGroup, row.project_id)
            if (
                is_default is not None
                and is_default.security_group_id == row.id
                and values.get("name", DEFAULT_NAME) != DEFAULT_NAME
            ):
                raise conflict(
                    "SecurityGroupCannotUpdateDefault",
                    "Updating default security group not allowed.",
                )
            if values.get("name") == DEFAULT_NAME and row.name != DEFAULT_NAME:
                raise default_exists()
            if "stateful" in values and bool(values["stateful"]) != bool(row.stateful):
                if group_in_use(session, row.id):  # its ports' firewalls depend on it
                    raise in_use("SecurityGroupInUse", f"Security Group {row.id} in use.")
            changed = apply_fields(
                row, values, {"name": "name", "description": "description", "stateful": "stateful"}
            )
            if "shared" in values and bool(values["shared"]) != current["shared"]:
                set_shared(session, "security_group", row, bool(values["shared"]))
                changed = True
            if changed:
                bump(row)
            session.flush()
            return self.render(session, [row], ctx)[0]

        result = self.deps.db.write(tx)
        self.deps.events.security_groups_changed([group_id])
        return result

    def delete(
        self, ctx: RequestContext, group_id: str, check: Check[Target], revision: int | None = None
    ) -> None:
        def tx(session: Session) -> str:
            row = visible_group(session, ctx, group_id)
            check(self.render(session, [row], ctx)[0])
            check_revision(row, revision)
            default = session.get(models.DefaultSecurityGroup, row.project_id)
            if default is not None and default.security_group_id == row.id:
                if not ctx.is_admin:
                    raise conflict(
                        "SecurityGroupCannotRemoveDefault",
                        "Insufficient rights for removing default security group.",
                    )
                session.delete(default)
            if group_in_use(session, row.id):
                raise in_use("SecurityGroupInUse", f"Security Group {row.id} in use.")
            session.execute(
                delete(models.RbacPolicy).where(
                    models.RbacPolicy.object_type == "security_group",
                    models.RbacPolicy.object_id == row.id,
                )
            )
            session.delete(row)
            return row.project_id

        self.deps.default_groups.discard(self.deps.db.write(tx))
        self.deps.events.security_groups_changed([group_id])


def group_in_use(session: Session, group_id: str) -> bool:
    """Whether any port uses the group."""
    used = session.scalars(
        select(models.PortSecurityGroup.port_id).where(
            models.PortSecurityGroup.security_group_id == group_id
        )
    ).first()
    return used is not None


def default_exists() -> Exception:
    """Another group named ``default``: each project has exactly one."""
    return conflict("SecurityGroupDefaultAlreadyExists", "Default security group already exists.")
