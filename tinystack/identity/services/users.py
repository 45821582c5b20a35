"""Users and their passwords; the groups a user is in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.auth.revocation import RevocationEvent
from tinystack.common.exceptions import Conflict, NotFound, ValidationError
from tinystack.common.timeutils import new_hex_id, utcnow
from tinystack.identity import models
from tinystack.identity.exception import AuthFailed
from tinystack.identity.services import (
    _rows,
    convert,
    delegation,
    directory,
    grants,
    mfa,
    passwords,
    revoke,
)
from tinystack.identity.services.access import enforce, user_target
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.records import JSON, Group, Project, User, UserFields

USER_OPTIONS = {
    "ignore_change_password_upon_first_use",
    "ignore_password_expiry",
    "ignore_lockout_failure_attempts",
    "lock_password",
    "multi_factor_auth_enabled",
    "multi_factor_auth_rules",
    "ignore_user_inactivity",
}


def _check_options(options: dict[str, JSON]) -> dict[str, JSON]:
    unknown = set(options) - USER_OPTIONS
    if unknown:
        raise ValidationError(f"Invalid user options: {', '.join(sorted(unknown))}.")
    mfa.check_rules_option(options.get("multi_factor_auth_rules"))
    enabled = options.get("multi_factor_auth_enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise ValidationError("multi_factor_auth_enabled must be a boolean.")
    return options


@dataclass(frozen=True, slots=True)
class _Password:
    """A password's columns, hashed outside the transaction (bcrypt is slow)."""

    password_hash: str | None = None
    password_created_at: datetime | None = None
    password_expires_at: datetime | None = None

    def apply(self, user: models.User) -> None:
        user.password_hash = self.password_hash
        user.password_created_at = self.password_created_at
        user.password_expires_at = self.password_expires_at


def _password(deps: Deps, password: str | None) -> _Password:
    if password is None:
        return _Password()
    now = utcnow()
    expiry_days = deps.opts.password_expires_days
    return _Password(
        password_hash=passwords.hash_password(password, deps.opts.password_hash_rounds),
        password_created_at=now,
        password_expires_at=now + timedelta(days=expiry_days) if expiry_days else None,
    )


def create(deps: Deps, data: UserFields) -> User:
    # Hash outside the transaction: bcrypt is slow and must not hold the write lock.
    directory.refuse_writes(deps, data.get("domain_id") or "default")
    pw = _password(deps, data.get("password"))

    def tx(session: Session) -> User:
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
        )
        pw.apply(user)
        session.add(user)
        session.flush()
        return convert.user(user)

    try:
        return deps.db.write(tx)
    except IntegrityError:
        raise Conflict(f"Duplicate entry found with name {data['name']}.") from None


def list_users(
    deps: Deps,
    name: str | None,
    domain_id: str | None,
    enabled: bool | None,
    *,
    within_domain: str | None = None,
) -> list[User]:
    """Users by name, domain and enabled; only ``within_domain``'s for a domain reader.

    A directory (LDAP) domain's users come from its directory; the listing of SQL users
    leaves directory users' shadow rows out.
    """
    scope = domain_id or within_domain
    source = directory.for_domain(deps, scope)
    if source is not None and scope is not None and within_domain in (None, scope):
        return directory.list_users(deps, source, scope, name, enabled)
    with deps.db.reader() as session:
        query = select(models.User).order_by(models.User.name)
        query = query.where(models.User.id.not_in(select(models.IdMapping.public_id)))
        if name is not None:
            query = query.where(models.User.name == name)
        if domain_id is not None:
            query = query.where(models.User.domain_id == domain_id)
        if enabled is not None:
            query = query.where(models.User.enabled == enabled)
        found = [convert.user(u) for u in session.scalars(query)]
    if within_domain:
        found = [u for u in found if u.domain_id == within_domain]
    return found


def authorized(deps: Deps, ctx: RequestContext, rule: str, user_id: str) -> User:
    """Load a user (404) and enforce ``rule`` on it (403)."""
    directory.refresh(deps, user_id)
    with deps.db.reader() as session:
        user = convert.user(_rows.user(session, user_id))
    enforce(ctx, rule, user_target(user))
    return user


def show(deps: Deps, ctx: RequestContext, user_id: str) -> User:
    return authorized(deps, ctx, "identity:get_user", user_id)


def update(deps: Deps, ctx: RequestContext, user_id: str, data: UserFields) -> User:
    authorized(deps, ctx, "identity:update_user", user_id)
    directory.refuse_if_mapped(deps, user_id)
    if "id" in data:
        raise ValidationError("Cannot change ID")
    pw = _password(deps, data["password"]) if "password" in data else None

    def tx(session: Session) -> tuple[User, list[RevocationEvent]]:
        user = _rows.user(session, user_id)
        events: list[RevocationEvent] = []
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
            pw.apply(user)
            events.append(revoke.record(session, user_id=user_id))
        if data.get("extra"):
            user.extra = {**user.extra, **data["extra"]}
        session.flush()
        return convert.user(user), events

    user, events = deps.db.write(tx)
    revoke.publish(deps, events)
    deps.clear_caches()
    return user


def change_password(deps: Deps, user_id: str, original: str, new: str) -> None:
    directory.refuse_if_mapped(deps, user_id)
    with deps.db.reader() as session:
        user = _rows.user(session, user_id)
        domain = session.get(models.Domain, user.domain_id)
        # As upstream, the original password authenticates the user: a disabled user (or
        # one in a disabled domain) cannot change it; an expired password may be changed.
        if (
            not user.enabled
            or domain is None
            or not domain.enabled
            or not passwords.check_password(original, user.password_hash)
        ):
            raise AuthFailed()
        if user.options.get("lock_password"):
            raise ValidationError("You cannot change your password at this time.")
    pw = _password(deps, new)

    def tx(session: Session) -> list[RevocationEvent]:
        user = _rows.user(session, user_id)
        pw.apply(user)
        return [revoke.record(session, user_id=user_id)]

    revoke.publish(deps, deps.db.write(tx))


def delete(deps: Deps, ctx: RequestContext, user_id: str) -> None:
    authorized(deps, ctx, "identity:delete_user", user_id)
    directory.refuse_if_mapped(deps, user_id)

    def tx(session: Session) -> list[RevocationEvent]:
        user = _rows.user(session, user_id)
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
        events = delegation.user_deleted(session, user_id)
        event = revoke.record(session, user_id=user_id)
        session.delete(user)
        return [event, *events]

    revoke.publish(deps, deps.db.write(tx))


def groups(deps: Deps, ctx: RequestContext, user_id: str) -> list[Group]:
    """The groups a user is in."""
    authorized(deps, ctx, "identity:list_groups_for_user", user_id)
    from_directory = directory.sync_user_groups(deps, user_id)
    if from_directory is not None:
        return from_directory
    with deps.db.reader() as session:
        _rows.user(session, user_id)
        query = (
            select(models.Group)
            .join(
                models.UserGroupMembership, models.UserGroupMembership.group_id == models.Group.id
            )
            .where(models.UserGroupMembership.user_id == user_id)
            .order_by(models.Group.name)
        )
        return [convert.group(g) for g in session.scalars(query)]


def projects(
    deps: Deps, ctx: RequestContext, user_id: str, enabled: bool | None, name: str | None
) -> list[Project]:
    """The projects a user has a role on, by enabled and name."""
    authorized(deps, ctx, "identity:list_user_projects", user_id)
    return [
        p
        for p in grants.user_projects(deps, user_id)
        if (enabled is None or p.enabled == enabled) and (name is None or p.name == name)
    ]
