"""Security groups: a default group per project (created on first use) and user groups."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.timeutils import isotime, new_uuid
from tinystack.network import models
from tinystack.network.exception import conflict, in_use
from tinystack.network.services import listing, quotas
from tinystack.network.services._rows import visible_group
from tinystack.network.services.authz import Check
from tinystack.network.services.group_rules import rule_records
from tinystack.network.services.records import SecurityGroupRecord, SecurityGroupRuleRecord
from tinystack.network.services.standard_attrs import (
    apply_given,
    bump,
    check_revision,
    init_standard,
)
from tinystack.network.services.visibility import (
    drop_grants,
    project_of,
    shared_for,
    visible_clause,
)

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
    getters={
        "id": lambda g: g.id,
        "name": lambda g: g.name,
        "project_id": lambda g: g.project_id,
        "tenant_id": lambda g: g.project_id,
        "stateful": lambda g: g.stateful,
        "shared": lambda g: g.shared,
        "description": lambda g: g.description,
        "revision_number": lambda g: g.revision_number,
        "created_at": lambda g: isotime(g.created_at),
        "updated_at": lambda g: isotime(g.updated_at),
        "tags": lambda g: g.tags,
    },
)


@dataclass(frozen=True, slots=True)
class SecurityGroupSpec:
    """A security group to create; None: the default."""

    project_id: str | None = None
    name: str | None = None
    description: str | None = None
    stateful: bool | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SecurityGroupChanges:
    """An update of a security group: the attributes in ``given``."""

    name: str | None = None
    description: str | None = None
    stateful: bool | None = None
    given: frozenset[str] = frozenset()


def _new_rule(
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


def _create_group(
    session: Session, project_id: str, name: str, description: str, default: bool = False
) -> models.SecurityGroup:
    """A group with upstream's default rules: all egress; for a default group also all
    ingress from members of the group itself."""
    group = models.SecurityGroup(id=new_uuid(), project_id=project_id, name=name, tags=[])
    init_standard(group, description)
    session.add(group)
    session.flush()
    for ethertype in ("IPv4", "IPv6"):
        _new_rule(session, group, "egress", ethertype)
        if default:
            _new_rule(session, group, "ingress", ethertype, remote_group_id=group.id)
    return group


def ensure_default(session: Session, project_id: str) -> str:
    """The project's default group id, creating it (and its rules) on first use."""
    found = session.get(models.DefaultSecurityGroup, project_id)
    if found is not None:
        return found.security_group_id
    try:
        with session.begin_nested():
            group = _create_group(session, project_id, DEFAULT_NAME, "Default security group", True)
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

    def records(
        self,
        session: Session,
        rows: Sequence[models.SecurityGroup],
        ctx: RequestContext | None = None,
    ) -> list[SecurityGroupRecord]:
        ids = [r.id for r in rows]
        rules: dict[str, list[SecurityGroupRuleRecord]] = defaultdict(list)
        if ids:
            stmt = select(models.SecurityGroupRule).where(
                models.SecurityGroupRule.security_group_id.in_(ids)
            )
            for rule in rule_records(session, session.scalars(stmt).all()):
                rules[rule.security_group_id].append(rule)
        shared = shared_for(session, "security_group", ids, ctx)
        return [
            SecurityGroupRecord(
                id=r.id,
                name=r.name,
                project_id=r.project_id,
                stateful=r.stateful,
                shared=r.id in shared,
                rules=tuple(rules[r.id]),
                description=r.description,
                created_at=r.created_at,
                updated_at=r.updated_at,
                revision_number=r.revision_number,
                tags=tuple(r.tags or ()),
            )
            for r in rows
        ]

    def list_items(
        self, ctx: RequestContext, query: listing.ListQuery
    ) -> list[SecurityGroupRecord]:
        # as upstream: the listed project's default group exists once anyone lists it (so
        # compute, listing a project's groups with its service token, finds "default")
        wanted = query.filters.get("project_id") or query.filters.get("tenant_id") or []
        self.ensure_default(str(wanted[0]) if len(wanted) == 1 else project_of(ctx))
        clause = visible_clause(models.SecurityGroup, "security_group", ctx, (SHARED,))
        with self.deps.db.reader() as session:
            stmt = select(models.SecurityGroup).where(clause)
            return listing.run(
                session, SPEC, stmt, query, lambda s, rows: self.records(s, rows, ctx)
            )

    def show(self, ctx: RequestContext, group_id: str) -> SecurityGroupRecord:
        with self.deps.db.reader() as session:
            return self.records(session, [visible_group(session, ctx, group_id)], ctx)[0]

    def create(self, ctx: RequestContext, spec: SecurityGroupSpec) -> SecurityGroupRecord:
        """Create a group (the API authorized the request already)."""
        project_id = spec.project_id or project_of(ctx)

        def tx(session: Session) -> SecurityGroupRecord:
            ensure_default(session, project_id)
            if spec.name == DEFAULT_NAME:  # the project's default exists now
                raise default_exists()
            quotas.enforce(session, self.deps.opts, project_id, {"security_group": 1})
            group = _create_group(session, project_id, spec.name or "", spec.description or "")
            group.stateful = True if spec.stateful is None else spec.stateful
            group.tags = sorted(set(spec.tags))
            session.flush()
            return self.records(session, [group], ctx)[0]

        result = self.deps.db.write(tx)
        self.deps.default_groups.add(project_id)
        return result

    def update(
        self,
        ctx: RequestContext,
        group_id: str,
        changes: SecurityGroupChanges,
        check: Check[SecurityGroupRecord],
        revision: int | None = None,
    ) -> SecurityGroupRecord:
        def tx(session: Session) -> SecurityGroupRecord:
            row = visible_group(session, ctx, group_id)
            check(self.records(session, [row], ctx)[0])
            check_revision(row, revision)
            is_default = session.get(models.DefaultSecurityGroup, row.project_id)
            if (
                is_default is not None
                and is_default.security_group_id == row.id
                and (changes.name if "name" in changes.given else DEFAULT_NAME) != DEFAULT_NAME
            ):
                raise conflict(
                    "SecurityGroupCannotUpdateDefault",
                    "Updating default security group not allowed.",
                )
            if changes.name == DEFAULT_NAME and row.name != DEFAULT_NAME:
                raise default_exists()
            if "stateful" in changes.given and bool(changes.stateful) != bool(row.stateful):
                if group_in_use(session, row.id):  # its ports' firewalls depend on it
                    raise in_use("SecurityGroupInUse", f"Security Group {row.id} in use.")
            changed = apply_given(row, changes, ("name", "description", "stateful"))
            if changed:
                bump(row)
            session.flush()
            return self.records(session, [row], ctx)[0]

        result = self.deps.db.write(tx)
        self.deps.events.security_groups_changed([group_id])
        return result

    def delete(
        self,
        ctx: RequestContext,
        group_id: str,
        check: Check[SecurityGroupRecord],
        revision: int | None = None,
    ) -> None:
        def tx(session: Session) -> str:
            row = visible_group(session, ctx, group_id)
            check(self.records(session, [row], ctx)[0])
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
            drop_grants(session, "security_group", row.id)
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
