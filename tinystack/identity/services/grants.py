"""Role grants (assignments) on projects, domains and the system, and the effective roles
they add up to for a token's scope.

Assignment ``type`` is actor kind + target kind: UserProject, GroupProject,
UserDomain, GroupDomain, UserSystem, GroupSystem. An ``inherited`` grant on a
domain applies to every project in it; on a project, to its whole subtree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.auth.revocation import RevocationEvent
from tinystack.common.exceptions import Forbidden, NotFound
from tinystack.identity import models
from tinystack.identity.services import _rows, convert, revoke, roles
from tinystack.identity.services.access import enforce
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.records import Domain, Project, Role

SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Grant:
    actor: str  # "user" | "group"
    actor_id: str
    target: str  # "project" | "domain" | "system"
    target_id: str
    role_id: str
    inherited: bool = False

    @property
    def type(self) -> str:
        return self.actor.capitalize() + self.target.capitalize()


def group_ids(session: Session, user_id: str) -> list[str]:
    query = select(models.UserGroupMembership.group_id).where(
        models.UserGroupMembership.user_id == user_id
    )
    return list(session.scalars(query))


def group_members(session: Session, group_id: str) -> list[str]:
    query = select(models.UserGroupMembership.user_id).where(
        models.UserGroupMembership.group_id == group_id
    )
    return list(session.scalars(query))


def ancestors(session: Session, project_id: str) -> list[str]:
    """Parent, grandparent, ... of a project (nearest first)."""
    out: list[str] = []
    current = session.get(models.Project, project_id)
    while current is not None and current.parent_id and current.parent_id not in out:
        out.append(current.parent_id)
        current = session.get(models.Project, current.parent_id)
    return out


def subtree(session: Session, project_id: str) -> list[str]:
    out: list[str] = []
    frontier = [project_id]
    while frontier:
        children = list(
            session.scalars(select(models.Project.id).where(models.Project.parent_id.in_(frontier)))
        )
        out.extend(children)
        frontier = children
    return out


def _direct_role_ids(
    session: Session,
    actors: list[str],
    target_ids: list[str],
    types: tuple[str, ...],
    inherited: bool,
) -> set[str]:
    if not target_ids:
        return set()
    query = select(models.Assignment.role_id).where(
        models.Assignment.actor_id.in_(actors),
        models.Assignment.target_id.in_(target_ids),
        models.Assignment.type.in_(types),
        models.Assignment.inherited.is_(inherited),
    )
    return set(session.scalars(query))


def effective_role_ids(
    session: Session,
    user_id: str,
    *,
    project_id: str | None = None,
    domain_id: str | None = None,
    system: bool = False,
    extra_group_ids: Sequence[str] = (),
) -> set[str]:
    """The roles a user has on a scope (with a federated token's mapped groups)."""
    actors = [user_id, *group_ids(session, user_id), *extra_group_ids]
    found: set[str] = set()
    if project_id is not None:
        project = session.get(models.Project, project_id)
        if project is None:
            return set()
        types = ("UserProject", "GroupProject")
        found |= _direct_role_ids(session, actors, [project_id], types, False)
        found |= _direct_role_ids(session, actors, ancestors(session, project_id), types, True)
        found |= _direct_role_ids(
            session, actors, [project.domain_id], ("UserDomain", "GroupDomain"), True
        )
    elif domain_id is not None:
        found |= _direct_role_ids(
            session, actors, [domain_id], ("UserDomain", "GroupDomain"), False
        )
    elif system:
        found |= _direct_role_ids(session, actors, [SYSTEM], ("UserSystem", "GroupSystem"), False)
    return strip_domain_roles(session, roles.expand(session, found)) if found else set()


def strip_domain_roles(session: Session, role_ids: set[str]) -> set[str]:
    """Domain-specific roles only imply global ones; like upstream, tokens never carry them."""
    if not role_ids:
        return role_ids
    query = select(models.Role.id).where(
        models.Role.id.in_(role_ids), models.Role.domain_id.is_not(None)
    )
    return role_ids - set(session.scalars(query))


def role_pairs(session: Session, role_ids: set[str]) -> list[tuple[str, str]]:
    if not role_ids:
        return []
    rows = session.execute(
        select(models.Role.id, models.Role.name).where(models.Role.id.in_(role_ids))
    )
    return sorted(((rid, name) for rid, name in rows), key=lambda p: p[1])


# -- grants ----------------------------------------------------------------------------------


def _check_grant_refs(session: Session, grant: Grant) -> None:
    actor_model = models.User if grant.actor == "user" else models.Group
    if session.get(actor_model, grant.actor_id) is None:
        raise NotFound(f"Could not find {grant.actor}: {grant.actor_id}.")
    if grant.target == "project" and session.get(models.Project, grant.target_id) is None:
        raise NotFound(f"Could not find project: {grant.target_id}.")
    if grant.target == "domain" and session.get(models.Domain, grant.target_id) is None:
        raise NotFound(f"Could not find domain: {grant.target_id}.")
    role = _rows.role(session, grant.role_id)
    if role.domain_id is not None and grant.target == "project":
        project = session.get(models.Project, grant.target_id)
        if project is not None and project.domain_id != role.domain_id:
            raise Forbidden(
                f"Project {grant.target_id} must be in the same domain as the role "
                f"{grant.role_id} being assigned."
            )


def _key(grant: Grant) -> tuple[str, str, str, str, bool]:
    return (grant.type, grant.actor_id, grant.target_id, grant.role_id, grant.inherited)


def _create_grant(deps: Deps, grant: Grant) -> None:
    def tx(session: Session) -> None:
        _check_grant_refs(session, grant)
        if session.get(models.Assignment, _key(grant)) is None:
            session.add(
                models.Assignment(
                    type=grant.type,
                    actor_id=grant.actor_id,
                    target_id=grant.target_id,
                    role_id=grant.role_id,
                    inherited=grant.inherited,
                )
            )

    deps.db.write(tx)
    deps.clear_caches()


def _check_grant(deps: Deps, grant: Grant) -> None:
    with deps.db.reader() as session:
        _check_grant_refs(session, grant)
        if session.get(models.Assignment, _key(grant)) is None:
            raise NotFound(
                f"Could not find role assignment with role: {grant.role_id}, "
                f"{grant.actor}: {grant.actor_id}, {grant.target}: {grant.target_id}."
            )


def _delete_grant(deps: Deps, grant: Grant) -> None:
    def tx(session: Session) -> list[RevocationEvent]:
        _check_grant_refs(session, grant)
        row = session.get(models.Assignment, _key(grant))
        if row is None:
            raise NotFound(
                f"Could not find role assignment with role: {grant.role_id}, "
                f"{grant.actor}: {grant.actor_id}, {grant.target}: {grant.target_id}."
            )
        session.delete(row)
        users = (
            [grant.actor_id] if grant.actor == "user" else group_members(session, grant.actor_id)
        )
        events: list[RevocationEvent] = []
        for user_id in users:
            if grant.target == "project" and not grant.inherited:
                events.append(revoke.record(session, user_id=user_id, project_id=grant.target_id))
            elif grant.target == "domain" and not grant.inherited:
                events.append(revoke.record(session, user_id=user_id, domain_id=grant.target_id))
            else:
                events.append(revoke.record(session, user_id=user_id))
        return events

    revoke.publish(deps, deps.db.write(tx))


def _list_grants(
    deps: Deps, actor: str, actor_id: str, target: str, target_id: str, inherited: bool
) -> list[Role]:
    with deps.db.reader() as session:
        probe = Grant(actor, actor_id, target, target_id, "x", inherited)
        actor_model = models.User if actor == "user" else models.Group
        if session.get(actor_model, actor_id) is None:
            raise NotFound(f"Could not find {actor}: {actor_id}.")
        query = (
            select(models.Role)
            .join(models.Assignment, models.Assignment.role_id == models.Role.id)
            .where(
                models.Assignment.type == probe.type,
                models.Assignment.actor_id == actor_id,
                models.Assignment.target_id == target_id,
                models.Assignment.inherited.is_(inherited),
            )
            .order_by(models.Role.name)
        )
        return [convert.role(r) for r in session.scalars(query)]


def _authorize_on(deps: Deps, ctx: RequestContext, rule: str, target: str, target_id: str) -> None:
    """Enforce a grant rule on its project (with the project's domain) or domain."""
    if target == "domain":
        enforce(ctx, rule, {"target": {"domain": {"id": target_id}}, "domain_id": target_id})
        return
    with deps.db.reader() as session:
        project = session.get(models.Project, target_id)
        domain_id = project.domain_id if project is not None else None
    scope = {"project": {"id": target_id, "domain_id": domain_id}}
    enforce(ctx, rule, {"target": scope, "domain_id": domain_id})


def create_grant(deps: Deps, ctx: RequestContext, grant: Grant) -> None:
    """Grant a role on a project or domain."""
    _authorize_on(deps, ctx, "identity:create_grant", grant.target, grant.target_id)
    _create_grant(deps, grant)


def check_grant(deps: Deps, ctx: RequestContext, grant: Grant) -> None:
    _authorize_on(deps, ctx, "identity:check_grant", grant.target, grant.target_id)
    _check_grant(deps, grant)


def delete_grant(deps: Deps, ctx: RequestContext, grant: Grant) -> None:
    _authorize_on(deps, ctx, "identity:revoke_grant", grant.target, grant.target_id)
    _delete_grant(deps, grant)


def list_grants(
    deps: Deps,
    ctx: RequestContext,
    actor: str,
    actor_id: str,
    target: str,
    target_id: str,
    inherited: bool,
) -> list[Role]:
    _authorize_on(deps, ctx, "identity:list_grants", target, target_id)
    return _list_grants(deps, actor, actor_id, target, target_id, inherited)


def create_system_grant(deps: Deps, grant: Grant) -> None:
    """Grant a role on the system (the caller is authorized by the request alone)."""
    _create_grant(deps, grant)


def check_system_grant(deps: Deps, grant: Grant) -> None:
    _check_grant(deps, grant)


def delete_system_grant(deps: Deps, grant: Grant) -> None:
    _delete_grant(deps, grant)


def list_system_grants(deps: Deps, actor: str, actor_id: str) -> list[Role]:
    return _list_grants(deps, actor, actor_id, "system", SYSTEM, False)


def _projects_for_user(
    session: Session, user_id: str, extra_group_ids: Sequence[str] = ()
) -> list[models.Project]:
    """Projects on which the user has any effective role (for /v3/auth/projects)."""
    actors = [user_id, *group_ids(session, user_id), *extra_group_ids]
    rows = session.scalars(
        select(models.Assignment).where(models.Assignment.actor_id.in_(actors))
    ).all()
    project_ids: set[str] = set()
    for row in rows:
        if row.type.endswith("Project"):
            if not row.inherited:
                project_ids.add(row.target_id)
            else:
                project_ids.update(subtree(session, row.target_id))
        elif row.type.endswith("Domain") and row.inherited:
            project_ids.update(
                session.scalars(
                    select(models.Project.id).where(models.Project.domain_id == row.target_id)
                )
            )
    if not project_ids:
        return []
    query = select(models.Project).where(models.Project.id.in_(project_ids))
    return list(session.scalars(query.order_by(models.Project.name)))


def _domains_for_user(
    session: Session, user_id: str, extra_group_ids: Sequence[str] = ()
) -> list[models.Domain]:
    actors = [user_id, *group_ids(session, user_id), *extra_group_ids]
    ids = set(
        session.scalars(
            select(models.Assignment.target_id).where(
                models.Assignment.actor_id.in_(actors),
                models.Assignment.type.in_(("UserDomain", "GroupDomain")),
                models.Assignment.inherited.is_(False),
            )
        )
    )
    if not ids:
        return []
    return list(session.scalars(select(models.Domain).where(models.Domain.id.in_(ids))))


def has_system_role(session: Session, user_id: str) -> bool:
    return bool(effective_role_ids(session, user_id, system=True))


# -- what a user may scope to (read transactions for the API) --------------------------------


def user_projects(deps: Deps, user_id: str, extra_group_ids: Sequence[str] = ()) -> list[Project]:
    with deps.db.reader() as session:
        found = _projects_for_user(session, user_id, extra_group_ids)
        return [convert.project(p) for p in found]


def user_domains(deps: Deps, user_id: str, extra_group_ids: Sequence[str] = ()) -> list[Domain]:
    with deps.db.reader() as session:
        return [convert.domain(d) for d in _domains_for_user(session, user_id, extra_group_ids)]


def user_has_system_role(deps: Deps, user_id: str) -> bool:
    with deps.db.reader() as session:
        return has_system_role(session, user_id)
