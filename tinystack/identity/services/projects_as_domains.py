"""Projects acting as domains: upstream stores a domain as a project with ``is_domain``,
so the projects API creates, shows, lists (``?is_domain=true``), updates and deletes
domains too. Here domains have their own table; this module routes the projects API to
projects or to domains, and shows a domain as a project (no domain, no parent)."""

from __future__ import annotations

from sqlalchemy import select

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import ValidationError
from tinystack.identity import models
from tinystack.identity.services import domains, projects
from tinystack.identity.services.access import enforce
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.records import (
    Domain,
    DomainFields,
    IdTree,
    Project,
    ProjectFields,
    ProjectFilters,
    ProjectTree,
)


def as_project(domain: Domain) -> Project:
    return Project(
        id=domain.id,
        name=domain.name,
        domain_id=domain.id,
        parent_id=None,
        description=domain.description,
        enabled=domain.enabled,
        tags=domain.tags,
        extra=domain.extra,
        is_domain=True,
    )


def _target(domain: Domain) -> dict[str, object]:
    return {"target": {"project": {"id": domain.id}}}


def _domain(deps: Deps, project_id: str) -> Domain | None:
    """The domain ``project_id`` names when it names no project."""
    with deps.db.reader() as session:
        if session.get(models.Project, project_id) is not None:
            return None
        row = session.get(models.Domain, project_id)
    return domains.show(deps, project_id) if row is not None else None


def _domain_fields(data: ProjectFields) -> DomainFields:
    fields: DomainFields = {}
    for key in ("name", "description", "enabled", "tags", "extra"):
        if key in data:
            fields[key] = data[key]
    return fields


def create(deps: Deps, data: ProjectFields) -> Project:
    if not data.get("is_domain"):
        return projects.create(deps, data)
    if data.get("parent_id"):
        raise ValidationError("only root projects are allowed to act as domains.")
    if data.get("domain_id"):
        raise ValidationError("A project acting as a domain cannot be in a domain.")
    return as_project(domains.create(deps, _domain_fields(data)))


def list_projects(
    deps: Deps, filters: ProjectFilters, is_domain: bool, *, within_domain: str | None = None
) -> list[Project]:
    if not is_domain:
        return projects.list_projects(deps, filters, within_domain=within_domain)
    if filters.get("domain_id") or filters.get("parent_id"):
        return []
    listed = domains.list_domains(deps, filters.get("name"), filters.get("enabled"))
    found = [as_project(d) for d in listed]
    if within_domain:
        found = [p for p in found if p.id == within_domain]
    return projects.filter_tags(found, filters)


def show(
    deps: Deps, ctx: RequestContext, project_id: str, *, parents: bool, subtree: bool
) -> ProjectTree:
    domain = _domain(deps, project_id)
    if domain is None:
        return projects.show(deps, ctx, project_id, parents=parents, subtree=subtree)
    enforce(ctx, "identity:get_project", _target(domain))
    with deps.db.reader() as session:
        tops = select(models.Project.id).where(
            models.Project.domain_id == domain.id, models.Project.parent_id.is_(None)
        )
        children = list(session.scalars(tops))
    tree: IdTree | None = dict.fromkeys(children) if subtree and children else None
    return ProjectTree(project=as_project(domain), parents=None, subtree=tree)


def update(deps: Deps, ctx: RequestContext, project_id: str, data: ProjectFields) -> Project:
    domain = _domain(deps, project_id)
    if domain is None:
        return projects.update(deps, ctx, project_id, data)
    enforce(ctx, "identity:update_project", _target(domain))
    if "id" in data:
        raise ValidationError("Cannot change ID")
    if "is_domain" in data and not data["is_domain"]:
        raise ValidationError("Update of `is_domain` is not allowed.")
    if data.get("domain_id") or data.get("parent_id"):
        raise ValidationError("Update of `domain_id` or `parent_id` is not allowed.")
    return as_project(domains.update(deps, project_id, _domain_fields(data)))


def delete(deps: Deps, ctx: RequestContext, project_id: str) -> None:
    domain = _domain(deps, project_id)
    if domain is None:
        projects.delete(deps, ctx, project_id)
        return
    enforce(ctx, "identity:delete_project", _target(domain))
    if domain.enabled:
        raise ValidationError(
            "cannot delete an enabled project acting as a domain. Please disable the "
            f"project {project_id} first."
        )
    domains.delete(deps, project_id)
