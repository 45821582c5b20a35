"""Projects, with their parent hierarchy and tags."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.auth.revocation import RevocationEvent
from tinystack.common.exceptions import Conflict, Forbidden, NotFound, ValidationError
from tinystack.common.timeutils import new_hex_id
from tinystack.identity import models
from tinystack.identity.services import _rows, convert, delegation, grants, revoke
from tinystack.identity.services.access import enforce, project_target
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.records import (
    IdTree,
    Project,
    ProjectFields,
    ProjectFilters,
    ProjectTree,
)

MAX_TAGS = 80
#: upstream's [resource] max_project_tree_depth: levels of projects under a domain
MAX_DEPTH = 5


def check_tags(tags: list[str]) -> list[str]:
    if len(tags) > MAX_TAGS:
        raise ValidationError(f"A project can have at most {MAX_TAGS} tags.")
    for tag in tags:
        if not tag or "/" in tag or "," in tag or len(tag) > 255:
            raise ValidationError(f"Invalid tag {tag!r}.")
    return list(dict.fromkeys(tags))


def _set_tags(project: models.Project, tags: list[str]) -> None:
    project.tags = [models.ProjectTag(name=t) for t in check_tags(tags)]


# -- projects --------------------------------------------------------------------------------


def _check_parent_chain(session: Session, parent: models.Project) -> None:
    """A new child needs an enabled branch above it and room below the depth limit."""
    chain = [parent.id, *grants.ancestors(session, parent.id)]
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


def create(deps: Deps, data: ProjectFields) -> Project:
    if data.get("is_domain"):
        raise ValidationError("Projects acting as domains are not supported; create a domain.")

    def tx(session: Session) -> Project:
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
        return convert.project(project)

    try:
        created = deps.db.write(tx)
    except IntegrityError:
        raise Conflict(f"Duplicate project name {data['name']}.") from None
    # Keystone's basic notification format: the resource's id only
    deps.notifier.info(None, "identity.project.created", {"resource_info": created.id})
    return created


def list_projects(
    deps: Deps, filters: ProjectFilters, *, within_domain: str | None = None
) -> list[Project]:
    """Projects by the filters; only ``within_domain``'s for a domain reader."""
    with deps.db.reader() as session:
        query = select(models.Project).order_by(models.Project.name)
        if filters.get("name") is not None:
            query = query.where(models.Project.name == filters["name"])
        if filters.get("domain_id") is not None:
            query = query.where(models.Project.domain_id == filters["domain_id"])
        if filters.get("parent_id") is not None:
            query = query.where(models.Project.parent_id == filters["parent_id"])
        if filters.get("enabled") is not None:
            query = query.where(models.Project.enabled == filters["enabled"])
        projects = [convert.project(p) for p in session.scalars(query)]
    if within_domain:
        projects = [p for p in projects if p.domain_id == within_domain]
    return filter_tags(projects, filters)


def filter_tags(projects: list[Project], filters: ProjectFilters) -> list[Project]:
    if tags := filters.get("tags"):
        projects = [p for p in projects if set(tags) <= set(p.tags)]
    if tags_any := filters.get("tags_any"):
        projects = [p for p in projects if set(tags_any) & set(p.tags)]
    if not_tags := filters.get("not_tags"):
        projects = [p for p in projects if not set(not_tags) <= set(p.tags)]
    if not_tags_any := filters.get("not_tags_any"):
        projects = [p for p in projects if not set(not_tags_any) & set(p.tags)]
    return projects


def authorized(deps: Deps, ctx: RequestContext, rule: str, project_id: str) -> Project:
    """Load a project (404) and enforce ``rule`` on it (403)."""
    with deps.db.reader() as session:
        project = convert.project(_rows.project(session, project_id))
    enforce(ctx, rule, project_target(project))
    return project


def show(
    deps: Deps, ctx: RequestContext, project_id: str, *, parents: bool, subtree: bool
) -> ProjectTree:
    """A project, and (``parents_as_ids``/``subtree_as_ids``) the ids around it."""
    project = authorized(deps, ctx, "identity:get_project", project_id)
    return ProjectTree(
        project=project,
        parents=_parents_as_ids(deps, project_id) if parents else None,
        subtree=_subtree_as_ids(deps, project_id) if subtree else None,
    )


def _parents_as_ids(deps: Deps, project_id: str) -> IdTree | None:
    """Parents nested from the nearest up to the domain, as upstream shows them."""
    with deps.db.reader() as session:
        project = _rows.project(session, project_id)
        chain = [*grants.ancestors(session, project_id), project.domain_id]
    tree: IdTree | None = None
    for parent_id in reversed(chain):
        tree = {parent_id: tree}
    return tree


def _subtree_as_ids(deps: Deps, project_id: str) -> IdTree | None:
    """Descendants nested by level; None for a leaf."""
    with deps.db.reader() as session:
        _rows.project(session, project_id)
        children: dict[str, list[str]] = {}
        frontier = [project_id]
        while frontier:
            found = session.execute(
                select(models.Project.id, models.Project.parent_id).where(
                    models.Project.parent_id.in_(frontier)
                )
            ).all()
            for child_id, parent_id in found:
                children.setdefault(str(parent_id), []).append(child_id)
            frontier = [child_id for child_id, _ in found]

    def nest(node: str) -> IdTree | None:
        kids = children.get(node)
        return {kid: nest(kid) for kid in kids} if kids else None

    return nest(project_id)


def update(deps: Deps, ctx: RequestContext, project_id: str, data: ProjectFields) -> Project:
    authorized(deps, ctx, "identity:update_project", project_id)
    if "id" in data:
        raise ValidationError("Cannot change ID")

    def tx(session: Session) -> tuple[Project, list[RevocationEvent]]:
        project = _rows.project(session, project_id)
        events: list[RevocationEvent] = []
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
        return convert.project(project), events

    project, events = deps.db.write(tx)
    revoke.publish(deps, events)
    deps.clear_caches()
    return project


def delete(deps: Deps, ctx: RequestContext, project_id: str) -> None:
    authorized(deps, ctx, "identity:delete_project", project_id)

    def tx(session: Session) -> list[RevocationEvent]:
        project = _rows.project(session, project_id)
        children = select(func.count()).where(models.Project.parent_id == project_id)
        if session.scalar(children):
            raise Forbidden(f"Cannot delete project {project_id}: it has child projects.")
        session.execute(
            sa.delete(models.Assignment).where(models.Assignment.target_id == project_id)
        )
        # As upstream, the project's unified limits go with it.
        session.execute(sa.delete(models.Limit).where(models.Limit.target_id == project_id))
        delegation.project_deleted(session, project_id)
        event = revoke.record(session, project_id=project_id)
        session.delete(project)
        return [event]

    revoke.publish(deps, deps.db.write(tx))


# -- project tags ----------------------------------------------------------------------------


def tags(deps: Deps, ctx: RequestContext, project_id: str) -> tuple[str, ...]:
    return authorized(deps, ctx, "identity:list_project_tags", project_id).tags


def check_tag(deps: Deps, ctx: RequestContext, project_id: str, tag: str) -> None:
    project = authorized(deps, ctx, "identity:get_project_tag", project_id)
    if tag not in project.tags:
        raise NotFound(f"Tag {tag} not found on project {project_id}.")


def replace_tags(deps: Deps, ctx: RequestContext, project_id: str, tags: list[str]) -> list[str]:
    authorized(deps, ctx, "identity:update_project_tags", project_id)
    return _replace_tags(deps, project_id, tags)


def clear_tags(deps: Deps, ctx: RequestContext, project_id: str) -> None:
    authorized(deps, ctx, "identity:delete_project_tags", project_id)
    _replace_tags(deps, project_id, [])


def _replace_tags(deps: Deps, project_id: str, tags: list[str]) -> list[str]:
    def tx(session: Session) -> list[str]:
        project = _rows.project(session, project_id)
        _set_tags(project, tags)
        session.flush()
        return [t.name for t in project.tags]

    return deps.db.write(tx)


def add_tag(deps: Deps, ctx: RequestContext, project_id: str, tag: str) -> None:
    authorized(deps, ctx, "identity:create_project_tag", project_id)

    def tx(session: Session) -> None:
        project = _rows.project(session, project_id)
        names = [t.name for t in project.tags]
        if tag not in names:
            _set_tags(project, [*names, tag])

    deps.db.write(tx)


def remove_tag(deps: Deps, ctx: RequestContext, project_id: str, tag: str) -> None:
    authorized(deps, ctx, "identity:delete_project_tag", project_id)

    def tx(session: Session) -> None:
        project = _rows.project(session, project_id)
        names = [t.name for t in project.tags]
        if tag not in names:
            raise NotFound(f"Tag {tag} not found on project {project_id}.")
        _set_tags(project, [n for n in names if n != tag])

    deps.db.write(tx)
