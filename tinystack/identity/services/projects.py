"""Projects (with parent hierarchy and tags) and domains."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common.auth.revocation import RevocationEvent
from tinystack.common.exceptions import Conflict, Forbidden, NotFound, ValidationError
from tinystack.common.timeutils import new_hex_id
from tinystack.identity import models
from tinystack.identity.services import assignments, revoke
from tinystack.identity.services.deps import Deps

MAX_TAGS = 80
#: upstream's [resource] max_project_tree_depth: levels of projects under a domain
MAX_DEPTH = 5


def get(session: Session, project_id: str) -> models.Project:
    project = session.get(models.Project, project_id)
    if project is None:
        raise NotFound(f"Could not find project: {project_id}.")
    return project


def get_domain(session: Session, domain_id: str) -> models.Domain:
    domain = session.get(models.Domain, domain_id)
    if domain is None:
        raise NotFound(f"Could not find domain: {domain_id}.")
    return domain


def _check_tags(tags: list[str]) -> list[str]:
    if len(tags) > MAX_TAGS:
        raise ValidationError(f"A project can have at most {MAX_TAGS} tags.")
    for tag in tags:
        if not tag or "/" in tag or "," in tag or len(tag) > 255:
            raise ValidationError(f"Invalid tag {tag!r}.")
    return list(dict.fromkeys(tags))


def _set_tags(project: models.Project, tags: list[str]) -> None:
    project.tags = [models.ProjectTag(name=t) for t in _check_tags(tags)]


# -- projects --------------------------------------------------------------------------------


def _check_parent_chain(session: Session, parent: models.Project) -> None:
    """A new child needs an enabled branch above it and room below the depth limit."""
    chain = [parent.id, *assignments.ancestors(session, parent.id)]
    for project_id in chain:
        project = session.get(models.Project, project_id)
        if project is not None and not project.enabled:
            raise ValidationError(
                f"cannot create a project in a branch containing a disabled project: {project_id}"
            )
    if len(chain) + 1 > MAX_DEPTH:
        raise Forbidden(
            f"Max hierarchy depth reached for {parent.id} branch (maximum {MAX_DEPTH})."
        )


def _check_enabled_change(session: Session, project: models.Project, enabled: bool) -> None:
    if enabled == project.enabled:
        return
    if enabled and project.parent_id:
        parent = session.get(models.Project, project.parent_id)
        if parent is not None and not parent.enabled:
            raise Forbidden(f"Cannot enable project {project.id} since it has disabled parents.")
    if not enabled:
        children = select(models.Project.id).where(
            models.Project.parent_id == project.id, models.Project.enabled.is_(True)
        )
        if session.scalars(children).first():
            raise Forbidden(
                f"Cannot disable project {project.id} since its subtree contains enabled projects."
            )


def create(deps: Deps, data: dict[str, Any]) -> models.Project:
    if data.get("is_domain"):
        raise ValidationError("Projects acting as domains are not supported; create a domain.")

    def tx(session: Session) -> models.Project:
        parent_id = data.get("parent_id")
        domain_id = data.get("domain_id")
        if parent_id and session.get(models.Domain, parent_id) is not None:
            # A top-level project's parent is its domain, as Keystone shows it.
            if domain_id and domain_id != parent_id:
                raise ValidationError("A project must be in the same domain as its parent.")
            domain_id, parent_id = parent_id, None
        if parent_id:
            parent = session.get(models.Project, parent_id)
            if parent is None:
                raise NotFound(f"Could not find project: {parent_id}.")
            if domain_id and domain_id != parent.domain_id:
                raise ValidationError("A project must be in the same domain as its parent.")
            domain_id = parent.domain_id
            _check_parent_chain(session, parent)
        domain_id = domain_id or "default"
        if session.get(models.Domain, domain_id) is None:
            raise ValidationError(f"Could not find domain: {domain_id}.")
        exists = select(models.Project.id).where(
            models.Project.domain_id == domain_id, models.Project.name == data["name"]
        )
        if session.scalars(exists).first():
            raise Conflict(
                f"Conflict occurred attempting to store project - it is not "
                f"permitted to have two projects with the same name in the same "
                f"domain : {data['name']}."
            )
        project = models.Project(
            id=new_hex_id(),
            name=data["name"],
            domain_id=domain_id,
            parent_id=parent_id or None,
            description=data.get("description", ""),
            enabled=data.get("enabled", True),
            extra=data.get("extra") or {},
        )
        _set_tags(project, data.get("tags") or [])
        session.add(project)
        session.flush()
        return project

    try:
        return deps.db.write(tx)
    except IntegrityError:
        raise Conflict(f"Duplicate project name {data['name']}.") from None


def list_projects(deps: Deps, filters: dict[str, Any]) -> list[models.Project]:
    with deps.db.reader() as session:
        query = select(models.Project).order_by(models.Project.name)
        for key in ("name", "domain_id", "parent_id", "enabled"):
            if filters.get(key) is not None:
                query = query.where(getattr(models.Project, key) == filters[key])
        if filters.get("ids") is not None:
            query = query.where(models.Project.id.in_(filters["ids"]))
        projects = list(session.scalars(query))
    return _filter_tags(projects, filters)


def _filter_tags(projects: list[models.Project], filters: dict[str, Any]) -> list[models.Project]:
    def names(p: models.Project) -> set[str]:
        return {t.name for t in p.tags}

    if filters.get("tags"):
        projects = [p for p in projects if set(filters["tags"]) <= names(p)]
    if filters.get("tags-any"):
        projects = [p for p in projects if set(filters["tags-any"]) & names(p)]
    if filters.get("not-tags"):
        projects = [p for p in projects if not set(filters["not-tags"]) <= names(p)]
    if filters.get("not-tags-any"):
        projects = [p for p in projects if not set(filters["not-tags-any"]) & names(p)]
    return projects


def domain_of(deps: Deps, project_id: str) -> str | None:
    """The domain of a project, or None when there is no such project."""
    with deps.db.reader() as session:
        project = session.get(models.Project, project_id)
        return project.domain_id if project is not None else None


def show(deps: Deps, project_id: str) -> models.Project:
    with deps.db.reader() as session:
        return get(session, project_id)


def parents_as_ids(deps: Deps, project_id: str) -> dict[str, Any] | None:
    """Parents nested from the nearest up to the domain, as upstream shows them."""
    with deps.db.reader() as session:
        project = get(session, project_id)
        chain = [*assignments.ancestors(session, project_id), project.domain_id]
    tree: dict[str, Any] | None = None
    for parent_id in reversed(chain):
        tree = {parent_id: tree}
    return tree


def subtree_as_ids(deps: Deps, project_id: str) -> dict[str, Any] | None:
    """Descendants nested by level; None for a leaf."""
    with deps.db.reader() as session:
        get(session, project_id)
        children: dict[str, list[str]] = {}
        frontier = [project_id]
        while frontier:
            rows = session.execute(
                select(models.Project.id, models.Project.parent_id).where(
                    models.Project.parent_id.in_(frontier)
                )
            ).all()
            for child_id, parent_id in rows:
                children.setdefault(str(parent_id), []).append(child_id)
            frontier = [child_id for child_id, _ in rows]

    def nest(node: str) -> dict[str, Any] | None:
        kids = children.get(node)
        return {kid: nest(kid) for kid in kids} if kids else None

    return nest(project_id)


def update(deps: Deps, project_id: str, data: dict[str, Any]) -> models.Project:
    def tx(session: Session) -> tuple[models.Project, list[Any]]:
        project = get(session, project_id)
        events = []
        if "domain_id" in data and data["domain_id"] != project.domain_id:
            raise ValidationError("Update of `domain_id` is not allowed.")
        if "parent_id" in data and data["parent_id"] != (project.parent_id or project.domain_id):
            raise Forbidden("Update of `parent_id` is not allowed.")
        if data.get("is_domain"):
            raise ValidationError("Update of `is_domain` is not allowed.")
        if "name" in data and data["name"] != project.name:
            clash = select(models.Project.id).where(
                models.Project.domain_id == project.domain_id, models.Project.name == data["name"]
            )
            if session.scalars(clash).first():
                raise Conflict(f"Duplicate project name {data['name']}.")
            project.name = data["name"]
        if "description" in data:
            project.description = data["description"]
        if "enabled" in data:
            _check_enabled_change(session, project, data["enabled"])
            if project.enabled and not data["enabled"]:
                events.append(revoke.record(session, project_id=project_id))
            project.enabled = data["enabled"]
        if "tags" in data:
            _set_tags(project, data["tags"] or [])
        if data.get("extra"):
            project.extra = {**project.extra, **data["extra"]}
        session.flush()
        return project, events

    project, events = deps.db.write(tx)
    revoke.publish(deps, events)
    deps.cache.clear()
    return project


def delete(deps: Deps, project_id: str) -> None:
    def tx(session: Session) -> list[Any]:
        project = get(session, project_id)
        children = select(func.count()).where(models.Project.parent_id == project_id)
        if session.scalar(children):
            raise Forbidden(f"Cannot delete project {project_id}: it has child projects.")
        session.execute(
            sa.delete(models.Assignment).where(models.Assignment.target_id == project_id)
        )
        event = revoke.record(session, project_id=project_id)
        session.delete(project)
        return [event]

    revoke.publish(deps, deps.db.write(tx))


# -- project tags ----------------------------------------------------------------------------


def set_tags(deps: Deps, project_id: str, tags: list[str]) -> list[str]:
    def tx(session: Session) -> list[str]:
        project = get(session, project_id)
        _set_tags(project, tags)
        session.flush()
        return [t.name for t in project.tags]

    return deps.db.write(tx)


def add_tag(deps: Deps, project_id: str, tag: str) -> None:
    def tx(session: Session) -> None:
        project = get(session, project_id)
        names = [t.name for t in project.tags]
        if tag not in names:
            _set_tags(project, [*names, tag])

    deps.db.write(tx)


def remove_tag(deps: Deps, project_id: str, tag: str) -> None:
    def tx(session: Session) -> None:
        project = get(session, project_id)
        names = [t.name for t in project.tags]
        if tag not in names:
            raise NotFound(f"Tag {tag} not found on project {project_id}.")
        _set_tags(project, [n for n in names if n != tag])

    deps.db.write(tx)


# -- domains ---------------------------------------------------------------------------------


def create_domain(deps: Deps, data: dict[str, Any]) -> models.Domain:
    def tx(session: Session) -> models.Domain:
        domain_id = data.get("explicit_domain_id") or new_hex_id()
        if session.scalars(
            select(models.Domain.id).where(models.Domain.name == data["name"])
        ).first():
            raise Conflict(f"Duplicate entry found with name {data['name']}.")
        if session.get(models.Domain, domain_id) is not None:
            raise Conflict(f"Duplicate entry found with ID {domain_id}.")
        domain = models.Domain(
            id=domain_id,
            name=data["name"],
            description=data.get("description", ""),
            enabled=data.get("enabled", True),
            extra=data.get("extra") or {},
            tags=_check_tags(data.get("tags") or []),
        )
        session.add(domain)
        return domain

    try:
        return deps.db.write(tx)
    except IntegrityError:
        raise Conflict(f"Duplicate entry found with name {data['name']}.") from None


def list_domains(deps: Deps, name: str | None, enabled: bool | None) -> list[models.Domain]:
    with deps.db.reader() as session:
        query = select(models.Domain).order_by(models.Domain.name)
        if name is not None:
            query = query.where(models.Domain.name == name)
        if enabled is not None:
            query = query.where(models.Domain.enabled.is_(enabled))
        return list(session.scalars(query))


def show_domain(deps: Deps, domain_id: str) -> models.Domain:
    with deps.db.reader() as session:
        return get_domain(session, domain_id)


def update_domain(deps: Deps, domain_id: str, data: dict[str, Any]) -> models.Domain:
    def tx(session: Session) -> tuple[models.Domain, list[Any]]:
        domain = get_domain(session, domain_id)
        events = []
        if "name" in data and data["name"] != domain.name:
            clash = select(models.Domain.id).where(models.Domain.name == data["name"])
            if session.scalars(clash).first():
                raise Conflict(f"Duplicate entry found with name {data['name']}.")
            domain.name = data["name"]
        if "description" in data:
            domain.description = data["description"]
        if "enabled" in data:
            if domain_id == "default" and not data["enabled"]:
                raise ValidationError("The default domain cannot be disabled.")
            if domain.enabled and not data["enabled"]:
                events.append(revoke.record(session, domain_id=domain_id))
                project_ids = session.scalars(
                    select(models.Project.id).where(models.Project.domain_id == domain_id)
                )
                events += [revoke.record(session, project_id=p) for p in project_ids]
                user_ids = session.scalars(
                    select(models.User.id).where(models.User.domain_id == domain_id)
                )
                events += [revoke.record(session, user_id=u) for u in user_ids]
            domain.enabled = data["enabled"]
        if "tags" in data:
            domain.tags = _check_tags(data["tags"] or [])
        if data.get("extra"):
            domain.extra = {**domain.extra, **data["extra"]}
        return domain, events

    domain, events = deps.db.write(tx)
    revoke.publish(deps, events)
    deps.cache.clear()
    return domain


def _purge_domain(session: Session, domain_id: str) -> list[RevocationEvent]:
    """Delete everything a domain owns, as upstream does, and revoke its tokens."""
    project_ids = list(
        session.scalars(select(models.Project.id).where(models.Project.domain_id == domain_id))
    )
    user_ids = list(
        session.scalars(select(models.User.id).where(models.User.domain_id == domain_id))
    )
    group_ids = list(
        session.scalars(select(models.Group.id).where(models.Group.domain_id == domain_id))
    )
    role_ids = list(
        session.scalars(select(models.Role.id).where(models.Role.domain_id == domain_id))
    )
    events = [revoke.record(session, domain_id=domain_id)]
    events += [revoke.record(session, project_id=p) for p in project_ids]
    events += [revoke.record(session, user_id=u) for u in user_ids]
    events += [revoke.record(session, role_id=r) for r in role_ids]
    a = models.Assignment
    session.execute(
        sa.delete(a).where(a.type.in_(("UserDomain", "GroupDomain")), a.target_id == domain_id)
    )
    for chunk in _chunks(project_ids):
        session.execute(
            sa.delete(a).where(a.type.in_(("UserProject", "GroupProject")), a.target_id.in_(chunk))
        )
        session.execute(sa.delete(models.ProjectTag).where(models.ProjectTag.project_id.in_(chunk)))
    for chunk in _chunks([*user_ids, *group_ids]):
        session.execute(sa.delete(a).where(a.actor_id.in_(chunk)))
    implied = models.ImpliedRole
    for chunk in _chunks(role_ids):
        session.execute(sa.delete(a).where(a.role_id.in_(chunk)))
        session.execute(
            sa.delete(implied).where(
                implied.prior_role_id.in_(chunk) | implied.implied_role_id.in_(chunk)
            )
        )
    membership = models.UserGroupMembership
    for chunk in _chunks(user_ids):
        session.execute(sa.delete(membership).where(membership.user_id.in_(chunk)))
        session.execute(
            sa.delete(models.ApplicationCredential).where(
                models.ApplicationCredential.user_id.in_(chunk)
            )
        )
    for chunk in _chunks(group_ids):
        session.execute(sa.delete(membership).where(membership.group_id.in_(chunk)))
    # Children reference parents: cut the links first so one DELETE works on every engine.
    session.execute(
        sa.update(models.Project)
        .where(models.Project.domain_id == domain_id)
        .values(parent_id=None)
    )
    for model in (models.Project, models.User, models.Group, models.Role):
        session.execute(sa.delete(model).where(model.domain_id == domain_id))
    return events


def _chunks(ids: list[str], size: int = 500) -> list[list[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def delete_domain(deps: Deps, domain_id: str) -> None:
    def tx(session: Session) -> list[RevocationEvent]:
        domain = get_domain(session, domain_id)
        if domain.enabled:
            raise Forbidden("Cannot delete a domain that is enabled, please disable it first.")
        events = _purge_domain(session, domain_id)
        session.delete(domain)
        return events

    revoke.publish(deps, deps.db.write(tx))
    deps.cache.clear()
