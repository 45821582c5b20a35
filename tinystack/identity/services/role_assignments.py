"""``GET /v3/role_assignments``: raw or effective assignments, with filters and names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import ValidationError
from tinystack.identity import models
from tinystack.identity.services import grants, projects, roles
from tinystack.identity.services.access import enforce
from tinystack.identity.services.deps import Deps


@dataclass(frozen=True, slots=True)
class Row:
    actor: str  # user | group
    actor_id: str
    target: str  # project | domain | system
    target_id: str
    role_id: str
    inherited: bool = False
    #: how an effective row was derived: group id, prior role id, inheriting target
    via_group: str | None = None
    prior_role: str | None = None
    inherited_from: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Filters:
    user_id: str | None = None
    group_id: str | None = None
    role_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    system: bool = False
    inherited_only: bool = False
    effective: bool = False
    include_subtree: bool = False
    include_names: bool = False
    #: a domain-scoped caller sees only assignments on its domain and the domain's projects
    within_domain: str | None = None


@dataclass(frozen=True, slots=True)
class Names:
    """Names of what the listed assignments refer to (``include_names``)."""

    #: (kind, id) -> (name, domain id) of users, groups, roles, projects and domains
    refs: Mapping[tuple[str, str], tuple[str | None, str | None]]
    #: domain id -> name, of every domain
    domains: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Listing:
    rows: tuple[Row, ...]
    names: Names | None


def _raw(session: Session) -> list[Row]:
    out = []
    for a in session.scalars(select(models.Assignment)):
        actor = "user" if a.type.startswith("User") else "group"
        target = a.type[len(actor) :].lower()
        out.append(Row(actor, a.actor_id, target, a.target_id, a.role_id, a.inherited))
    return out


def _expand_groups(session: Session, rows: list[Row]) -> list[Row]:
    out = []
    for row in rows:
        if row.actor == "group":
            for user_id in grants.group_members(session, row.actor_id):
                out.append(replace(row, actor="user", actor_id=user_id, via_group=row.actor_id))
        else:
            out.append(row)
    return out


def _expand_inherited(session: Session, rows: list[Row]) -> list[Row]:
    out = []
    for row in rows:
        if not row.inherited:
            out.append(row)
            continue
        if row.target == "domain":
            targets = list(
                session.scalars(
                    select(models.Project.id).where(models.Project.domain_id == row.target_id)
                )
            )
        else:
            targets = grants.subtree(session, row.target_id)
        for project_id in targets:
            out.append(
                replace(
                    row,
                    target="project",
                    target_id=project_id,
                    inherited=False,
                    inherited_from=(row.target, row.target_id),
                )
            )
    return out


def _expand_implied(session: Session, rows: list[Row]) -> list[Row]:
    graph = roles.implications(session)
    out = []
    for row in rows:
        out.append(row)
        seen = {row.role_id}
        stack = [row.role_id]
        while stack:
            prior = stack.pop()
            for implied in graph.get(prior, ()):
                if implied not in seen:
                    seen.add(implied)
                    stack.append(implied)
                    out.append(replace(row, role_id=implied, prior_role=prior))
    return out


def _matches(session: Session, row: Row, f: Filters) -> bool:
    if f.user_id is not None and not (row.actor == "user" and row.actor_id == f.user_id):
        return False
    if f.group_id is not None and not (row.actor == "group" and row.actor_id == f.group_id):
        return False
    if f.role_id is not None and row.role_id != f.role_id:
        return False
    if f.project_id is not None:
        wanted = {f.project_id}
        if f.include_subtree:
            wanted.update(grants.subtree(session, f.project_id))
        if not (row.target == "project" and row.target_id in wanted):
            return False
    if f.domain_id is not None and not (row.target == "domain" and row.target_id == f.domain_id):
        return False
    if f.system and row.target != "system":
        return False
    return not (f.inherited_only and not (row.inherited or row.inherited_from))


def _in_domain(session: Session, row: Row, domain_id: str) -> bool:
    if row.target == "domain":
        return row.target_id == domain_id
    if row.target == "project":
        project = session.get(models.Project, row.target_id)
        return project is not None and project.domain_id == domain_id
    return False


def _authorize(deps: Deps, ctx: RequestContext, f: Filters) -> Filters:
    if f.include_subtree:
        # As upstream: the tree's root project is the target, for domain-scoped readers.
        if f.project_id:
            projects.authorized(deps, ctx, "identity:list_role_assignments_for_tree", f.project_id)
            return f
        enforce(ctx, "identity:list_role_assignments_for_tree", {})
        raise ValidationError(
            "scope.project.id must be specified if include_subtree is also specified"
        )
    # A domain-scoped token reads its own domain's assignments; nobody else has a
    # target domain, so only system readers and admins pass the reader check.
    target = {"target": {"domain_id": ctx.domain_id}} if ctx.domain_id else {}
    enforce(ctx, "identity:list_role_assignments", target)
    return replace(f, within_domain=ctx.domain_id)


def list_assignments(deps: Deps, ctx: RequestContext, f: Filters) -> Listing:
    """The assignments the filters select, once the caller may list them."""
    f = _authorize(deps, ctx, f)
    with deps.db.reader() as session:
        rows = _raw(session)
        if f.effective:
            rows = _expand_implied(
                session, _expand_inherited(session, _expand_groups(session, rows))
            )
            kept = grants.strip_domain_roles(session, {r.role_id for r in rows})
            rows = [r for r in rows if r.role_id in kept]
        result = [r for r in rows if _matches(session, r, f)]
        if f.within_domain is not None:
            result = [r for r in result if _in_domain(session, r, f.within_domain)]
        names = _names(session, result) if f.include_names else None
        return Listing(rows=tuple(result), names=names)


def _names(session: Session, rows: list[Row]) -> Names:
    refs: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    domains = {d.id: d.name for d in session.scalars(select(models.Domain))}
    for row in rows:
        if (row.actor, row.actor_id) not in refs:
            actor: models.User | models.Group | None = (
                session.get(models.User, row.actor_id)
                if row.actor == "user"
                else session.get(models.Group, row.actor_id)
            )
            if actor is not None:
                refs[(row.actor, row.actor_id)] = (actor.name, actor.domain_id)
        if ("role", row.role_id) not in refs:
            role = session.get(models.Role, row.role_id)
            if role is not None:
                refs[("role", row.role_id)] = (role.name, role.domain_id)
        if row.target == "project" and ("project", row.target_id) not in refs:
            project = session.get(models.Project, row.target_id)
            if project is not None:
                refs[("project", row.target_id)] = (project.name, project.domain_id)
        if row.target == "domain":
            refs[("domain", row.target_id)] = (domains.get(row.target_id), None)
    return Names(refs=refs, domains=domains)
