"""Domains; deleting one deletes everything it owns."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common.auth.revocation import RevocationEvent
from tinystack.common.exceptions import Conflict, Forbidden, ValidationError
from tinystack.common.timeutils import new_hex_id
from tinystack.identity import models
from tinystack.identity.services import _rows, convert, delegation, revoke
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.projects import check_tags
from tinystack.identity.services.records import Domain, DomainFields


def create(deps: Deps, data: DomainFields) -> Domain:
    def tx(session: Session) -> Domain:
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
            tags=check_tags(data.get("tags") or []),
        )
        session.add(domain)
        return convert.domain(domain)

    try:
        return deps.db.write(tx)
    except IntegrityError:
        raise Conflict(f"Duplicate entry found with name {data['name']}.") from None


def list_domains(deps: Deps, name: str | None, enabled: bool | None) -> list[Domain]:
    with deps.db.reader() as session:
        query = select(models.Domain).order_by(models.Domain.name)
        if name is not None:
            query = query.where(models.Domain.name == name)
        if enabled is not None:
            query = query.where(models.Domain.enabled.is_(enabled))
        return [convert.domain(d) for d in session.scalars(query)]


def show(deps: Deps, domain_id: str) -> Domain:
    with deps.db.reader() as session:
        return convert.domain(_rows.domain(session, domain_id))


def update(deps: Deps, domain_id: str, data: DomainFields) -> Domain:
    if "id" in data:
        raise ValidationError("Cannot change ID")

    def tx(session: Session) -> tuple[Domain, list[RevocationEvent]]:
        domain = _rows.domain(session, domain_id)
        events: list[RevocationEvent] = []
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
            domain.tags = check_tags(data["tags"] or [])
        if data.get("extra"):
            domain.extra = {**domain.extra, **data["extra"]}
        return convert.domain(domain), events

    domain, events = deps.db.write(tx)
    revoke.publish(deps, events)
    deps.clear_caches()
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
    for user_id in user_ids:
        events += delegation.user_deleted(session, user_id)
    for project_id in project_ids:
        delegation.project_deleted(session, project_id)
    # Children reference parents: cut the links first so one DELETE works on every engine.
    session.execute(
        sa.update(models.Project)
        .where(models.Project.domain_id == domain_id)
        .values(parent_id=None)
    )
    projects = sa.select(models.Project.id).where(models.Project.domain_id == domain_id)
    session.execute(
        sa.delete(models.Limit).where(
            (models.Limit.target_id == domain_id) | models.Limit.project_id.in_(projects)
        )
    )
    for owned in (models.DomainConfig, models.IdMapping):
        session.execute(sa.delete(owned).where(owned.domain_id == domain_id))
    for model in (models.Project, models.User, models.Group, models.Role):
        session.execute(sa.delete(model).where(model.domain_id == domain_id))
    return events


def _chunks(ids: list[str], size: int = 500) -> list[list[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def delete(deps: Deps, domain_id: str) -> None:
    def tx(session: Session) -> list[RevocationEvent]:
        domain = _rows.domain(session, domain_id)
        if domain.enabled:
            raise Forbidden("Cannot delete a domain that is enabled, please disable it first.")
        events = _purge_domain(session, domain_id)
        session.delete(domain)
        return events

    revoke.publish(deps, deps.db.write(tx))
    deps.clear_caches()
