"""Groups and group membership."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.auth.revocation import RevocationEvent
from tinystack.common.exceptions import Conflict, NotFound, ValidationError
from tinystack.common.timeutils import new_hex_id
from tinystack.identity import models
from tinystack.identity.services import _rows, compliance, convert, directory, revoke
from tinystack.identity.services.access import enforce, group_target
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.records import Group, GroupFields, User


def create(deps: Deps, data: GroupFields) -> Group:
    directory.refuse_writes(deps, data.get("domain_id") or "default")

    def tx(session: Session) -> Group:
        domain_id = data.get("domain_id") or "default"
        if session.get(models.Domain, domain_id) is None:
            raise NotFound(f"Could not find domain: {domain_id}.")
        clash = select(models.Group.id).where(
            models.Group.domain_id == domain_id, models.Group.name == data["name"]
        )
        if session.scalars(clash).first():
            raise Conflict(
                f"Conflict occurred attempting to store group - Duplicate entry "
                f"found with name {data['name']} at domain ID {domain_id}."
            )
        group = models.Group(
            id=new_hex_id(),
            name=data["name"],
            domain_id=domain_id,
            description=data.get("description", ""),
            extra=data.get("extra") or {},
        )
        session.add(group)
        return convert.group(group)

    try:
        return deps.db.write(tx)
    except IntegrityError:
        raise Conflict(f"Duplicate entry found with name {data['name']}.") from None


def list_groups(
    deps: Deps, name: str | None, domain_id: str | None, *, within_domain: str | None = None
) -> list[Group]:
    """Groups by name and domain; only ``within_domain``'s for a domain reader (a
    directory domain's from its directory)."""
    scope = domain_id or within_domain
    source = directory.for_domain(deps, scope)
    if source is not None and scope is not None and within_domain in (None, scope):
        return directory.list_groups(deps, source, scope, name)
    with deps.db.reader() as session:
        query = select(models.Group).order_by(models.Group.name)
        query = query.where(models.Group.id.not_in(select(models.IdMapping.public_id)))
        if name is not None:
            query = query.where(models.Group.name == name)
        if domain_id is not None:
            query = query.where(models.Group.domain_id == domain_id)
        found = [convert.group(g) for g in session.scalars(query)]
    if within_domain:
        found = [g for g in found if g.domain_id == within_domain]
    return found


def authorized(deps: Deps, ctx: RequestContext, rule: str, group_id: str) -> Group:
    """Load a group (404) and enforce ``rule`` on it (403)."""
    directory.refresh(deps, group_id)
    with deps.db.reader() as session:
        group = convert.group(_rows.group(session, group_id))
    enforce(ctx, rule, group_target(group))
    return group


def show(deps: Deps, ctx: RequestContext, group_id: str) -> Group:
    return authorized(deps, ctx, "identity:get_group", group_id)


def update(deps: Deps, ctx: RequestContext, group_id: str, data: GroupFields) -> Group:
    authorized(deps, ctx, "identity:update_group", group_id)
    directory.refuse_if_mapped(deps, group_id)
    if "id" in data:
        raise ValidationError("Cannot change ID")

    def tx(session: Session) -> Group:
        group = _rows.group(session, group_id)
        if "domain_id" in data and data["domain_id"] != group.domain_id:
            raise ValidationError("Update of `domain_id` is not allowed.")
        if "name" in data and data["name"] != group.name:
            clash = select(models.Group.id).where(
                models.Group.domain_id == group.domain_id, models.Group.name == data["name"]
            )
            if session.scalars(clash).first():
                raise Conflict(f"Duplicate entry found with name {data['name']}.")
            group.name = data["name"]
        if "description" in data:
            group.description = data["description"]
        if data.get("extra"):
            group.extra = {**group.extra, **data["extra"]}
        return convert.group(group)

    return deps.db.write(tx)


def delete(deps: Deps, ctx: RequestContext, group_id: str) -> None:
    authorized(deps, ctx, "identity:delete_group", group_id)
    directory.refuse_if_mapped(deps, group_id)

    def tx(session: Session) -> list[RevocationEvent]:
        group = _rows.group(session, group_id)
        members = session.scalars(
            select(models.UserGroupMembership.user_id).where(
                models.UserGroupMembership.group_id == group_id
            )
        ).all()
        session.execute(sa.delete(models.Assignment).where(models.Assignment.actor_id == group_id))
        events = [revoke.record(session, user_id=u) for u in members]
        session.delete(group)
        return events

    revoke.publish(deps, deps.db.write(tx))


def members(
    deps: Deps, ctx: RequestContext, group_id: str, password_expires_at: str | None = None
) -> list[User]:
    """A group's users (``password_expires_at``: upstream's ``[{op}:]{timestamp}`` filter)."""
    authorized(deps, ctx, "identity:list_users_in_group", group_id)
    found = _members(deps, group_id)
    if password_expires_at is None:
        return found
    matches = compliance.expiry_filter(password_expires_at)
    return [u for u in found if matches(u.password_expires_at)]


def _members(deps: Deps, group_id: str) -> list[User]:
    from_directory = directory.group_members(deps, group_id)
    if from_directory is not None:
        return from_directory
    with deps.db.reader() as session:
        _rows.group(session, group_id)
        query = (
            select(models.User)
            .join(models.UserGroupMembership, models.UserGroupMembership.user_id == models.User.id)
            .where(models.UserGroupMembership.group_id == group_id)
            .order_by(models.User.name)
        )
        return [convert.user(u) for u in session.scalars(query)]


def add_member(deps: Deps, ctx: RequestContext, group_id: str, user_id: str) -> None:
    authorized(deps, ctx, "identity:add_user_to_group", group_id)
    directory.refuse_if_mapped(deps, group_id)
    directory.refuse_if_mapped(deps, user_id)

    def tx(session: Session) -> None:
        _rows.group(session, group_id)
        _rows.user(session, user_id)
        if session.get(models.UserGroupMembership, (user_id, group_id)) is None:
            session.add(models.UserGroupMembership(user_id=user_id, group_id=group_id))

    deps.db.write(tx)


def check_member(deps: Deps, ctx: RequestContext, group_id: str, user_id: str) -> None:
    authorized(deps, ctx, "identity:check_user_in_group", group_id)
    member = directory.is_member(deps, group_id, user_id)
    if member is not None:
        if not member:
            raise NotFound(f"User {user_id} is not a member of group {group_id}.")
        return
    with deps.db.reader() as session:
        _rows.group(session, group_id)
        _rows.user(session, user_id)
        if session.get(models.UserGroupMembership, (user_id, group_id)) is None:
            raise NotFound(f"User {user_id} is not a member of group {group_id}.")


def remove_member(deps: Deps, ctx: RequestContext, group_id: str, user_id: str) -> None:
    authorized(deps, ctx, "identity:remove_user_from_group", group_id)
    directory.refuse_if_mapped(deps, group_id)

    def tx(session: Session) -> list[RevocationEvent]:
        _rows.group(session, group_id)
        _rows.user(session, user_id)
        row = session.get(models.UserGroupMembership, (user_id, group_id))
        if row is None:
            raise NotFound(f"User {user_id} is not a member of group {group_id}.")
        session.delete(row)
        return [revoke.record(session, user_id=user_id)]

    revoke.publish(deps, deps.db.write(tx))
