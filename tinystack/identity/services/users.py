"""Users, passwords, groups and group membership."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common.exceptions import Conflict, NotFound, Unauthorized, ValidationError
from tinystack.common.timeutils import new_hex_id, utcnow
from tinystack.identity import models
from tinystack.identity.services import passwords, revoke
from tinystack.identity.services.deps import Deps

USER_OPTIONS = {
    "ignore_change_password_upon_first_use",
    "ignore_password_expiry",
    "ignore_lockout_failure_attempts",
    "lock_password",
    "multi_factor_auth_enabled",
    "multi_factor_auth_rules",
    "ignore_user_inactivity",
}


def get(session: Session, user_id: str) -> models.User:
    user = session.get(models.User, user_id)
    if user is None:
        raise NotFound(f"Could not find user: {user_id}.")
    return user


def get_group(session: Session, group_id: str) -> models.Group:
    group = session.get(models.Group, group_id)
    if group is None:
        raise NotFound(f"Could not find group: {group_id}.")
    return group


def _rounds(deps: Deps) -> int:
    return deps.opts.password_hash_rounds


def _check_options(options: dict[str, Any]) -> dict[str, Any]:
    unknown = set(options) - USER_OPTIONS
    if unknown:
        raise ValidationError(f"Invalid user options: {', '.join(sorted(unknown))}.")
    return options


def _password_fields(deps: Deps, password: str | None) -> dict[str, Any]:
    if password is None:
        return {"password_hash": None, "password_created_at": None, "password_expires_at": None}
    now = utcnow()
    expiry_days = deps.opts.password_expires_days
    return {
        "password_hash": passwords.hash_password(password, _rounds(deps)),
        "password_created_at": now,
        "password_expires_at": now + timedelta(days=expiry_days) if expiry_days else None,
    }


def create(deps: Deps, data: dict[str, Any]) -> models.User:
    # Hash outside the transaction: bcrypt is slow and must not hold the write lock.
    pw = _password_fields(deps, data.get("password"))

    def tx(session: Session) -> models.User:
        domain_id = data.get("domain_id") or "default"
        if session.get(models.Domain, domain_id) is None:
            raise NotFound(f"Could not find domain: {domain_id}.")
        clash = select(models.User.id).where(
            models.User.domain_id == domain_id, models.User.name == data["name"]
        )
        if session.scalars(clash).first():
            raise Conflict(
                f"Conflict occurred attempting to store user - Duplicate entry "
                f"found with name {data['name']} at domain ID {domain_id}."
            )
        user = models.User(
            id=new_hex_id(),
            name=data["name"],
            domain_id=domain_id,
            enabled=data.get("enabled", True),
            default_project_id=data.get("default_project_id"),
            description=data.get("description"),
            options=_check_options(data.get("options") or {}),
            extra=data.get("extra") or {},
            created_at=utcnow(),
            **pw,
        )
        session.add(user)
        session.flush()
        return user

    try:
        return deps.db.write(tx)
    except IntegrityError:
        raise Conflict(f"Duplicate entry found with name {data['name']}.") from None


def list_users(deps: Deps, filters: dict[str, Any]) -> list[models.User]:
    with deps.db.reader() as session:
        query = select(models.User).order_by(models.User.name)
        for key in ("name", "domain_id", "enabled"):
            if filters.get(key) is not None:
                query = query.where(getattr(models.User, key) == filters[key])
        return list(session.scalars(query))


def show(deps: Deps, user_id: str) -> models.User:
    with deps.db.reader() as session:
        return get(session, user_id)


def update(deps: Deps, user_id: str, data: dict[str, Any]) -> models.User:
    pw = _password_fields(deps, data["password"]) if "password" in data else None

    def tx(session: Session) -> tuple[models.User, list[Any]]:
        user = get(session, user_id)
        events = []
        if "domain_id" in data and data["domain_id"] != user.domain_id:
            raise ValidationError("Update of `domain_id` is not allowed.")
        if "name" in data and data["name"] != user.name:
            clash = select(models.User.id).where(
                models.User.domain_id == user.domain_id, models.User.name == data["name"]
            )
            if session.scalars(clash).first():
                raise Conflict(f"Duplicate entry found with name {data['name']}.")
            user.name = data["name"]
        for key in ("default_project_id", "description"):
            if key in data:
                setattr(user, key, data[key])
        if "enabled" in data:
            if user.enabled and not data["enabled"]:
                events.append(revoke.record(session, user_id=user_id))
                # As upstream: disabling a user deletes its application credentials.
                session.execute(
                    sa.delete(models.ApplicationCredential).where(
                        models.ApplicationCredential.user_id == user_id
                    )
                )
            user.enabled = data["enabled"]
        if "options" in data:
            opts = {**user.options, **_check_options(data["options"] or {})}
            user.options = {k: v for k, v in opts.items() if v is not None}
        if pw is not None:
            for key, value in pw.items():
                setattr(user, key, value)
            events.append(revoke.record(session, user_id=user_id))
        if data.get("extra"):
            user.extra = {**user.extra, **data["extra"]}
        session.flush()
        return user, events

    user, events = deps.db.write(tx)
    revoke.publish(deps, events)
    deps.cache.clear()
    return user


def change_password(deps: Deps, user_id: str, original: str, new: str) -> None:
    with deps.db.reader() as session:
        user = get(session, user_id)
        domain = session.get(models.Domain, user.domain_id)
        # As upstream, the original password authenticates the user: a disabled user (or
        # one in a disabled domain) cannot change it; an expired password may be changed.
        if (
            not user.enabled
            or domain is None
            or not domain.enabled
            or not passwords.check_password(original, user.password_hash)
        ):
            raise Unauthorized("The request you have made requires authentication.")
        if user.options.get("lock_password"):
            raise ValidationError("You cannot change your password at this time.")
    pw = _password_fields(deps, new)

    def tx(session: Session) -> list[Any]:
        user = get(session, user_id)
        for key, value in pw.items():
            setattr(user, key, value)
        return [revoke.record(session, user_id=user_id)]

    revoke.publish(deps, deps.db.write(tx))


def delete(deps: Deps, user_id: str) -> None:
    def tx(session: Session) -> list[Any]:
        user = get(session, user_id)
        session.execute(sa.delete(models.Assignment).where(models.Assignment.actor_id == user_id))
        session.execute(
            sa.delete(models.UserGroupMembership).where(
                models.UserGroupMembership.user_id == user_id
            )
        )
        session.execute(
            sa.delete(models.ApplicationCredential).where(
                models.ApplicationCredential.user_id == user_id
            )
        )
        event = revoke.record(session, user_id=user_id)
        session.delete(user)
        return [event]

    revoke.publish(deps, deps.db.write(tx))


# -- groups ----------------------------------------------------------------------------------


def create_group(deps: Deps, data: dict[str, Any]) -> models.Group:
    def tx(session: Session) -> models.Group:
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
        return group

    try:
        return deps.db.write(tx)
    except IntegrityError:
        raise Conflict(f"Duplicate entry found with name {data['name']}.") from None


def list_groups(deps: Deps, filters: dict[str, Any]) -> list[models.Group]:
    with deps.db.reader() as session:
        query = select(models.Group).order_by(models.Group.name)
        for key in ("name", "domain_id"):
            if filters.get(key) is not None:
                query = query.where(getattr(models.Group, key) == filters[key])
        return list(session.scalars(query))


def show_group(deps: Deps, group_id: str) -> models.Group:
    with deps.db.reader() as session:
        return get_group(session, group_id)


def update_group(deps: Deps, group_id: str, data: dict[str, Any]) -> models.Group:
    def tx(session: Session) -> models.Group:
        group = get_group(session, group_id)
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
        return group

    return deps.db.write(tx)


def delete_group(deps: Deps, group_id: str) -> None:
    def tx(session: Session) -> list[Any]:
        group = get_group(session, group_id)
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


def group_users(deps: Deps, group_id: str) -> list[models.User]:
    with deps.db.reader() as session:
        get_group(session, group_id)
        query = (
            select(models.User)
            .join(models.UserGroupMembership, models.UserGroupMembership.user_id == models.User.id)
            .where(models.UserGroupMembership.group_id == group_id)
            .order_by(models.User.name)
        )
        return list(session.scalars(query))


def user_groups(deps: Deps, user_id: str) -> list[models.Group]:
    with deps.db.reader() as session:
        get(session, user_id)
        query = (
            select(models.Group)
            .join(
                models.UserGroupMembership, models.UserGroupMembership.group_id == models.Group.id
            )
            .where(models.UserGroupMembership.user_id == user_id)
            .order_by(models.Group.name)
        )
        return list(session.scalars(query))


def add_member(deps: Deps, group_id: str, user_id: str) -> None:
    def tx(session: Session) -> None:
        get_group(session, group_id)
        get(session, user_id)
        if session.get(models.UserGroupMembership, (user_id, group_id)) is None:
            session.add(models.UserGroupMembership(user_id=user_id, group_id=group_id))

    deps.db.write(tx)


def check_member(deps: Deps, group_id: str, user_id: str) -> None:
    with deps.db.reader() as session:
        get_group(session, group_id)
        get(session, user_id)
        if session.get(models.UserGroupMembership, (user_id, group_id)) is None:
            raise NotFound(f"User {user_id} is not a member of group {group_id}.")


def remove_member(deps: Deps, group_id: str, user_id: str) -> None:
    def tx(session: Session) -> list[Any]:
        get_group(session, group_id)
        get(session, user_id)
        row = session.get(models.UserGroupMembership, (user_id, group_id))
        if row is None:
            raise NotFound(f"User {user_id} is not a member of group {group_id}.")
        session.delete(row)
        return [revoke.record(session, user_id=user_id)]

    revoke.publish(deps, deps.db.write(tx))
