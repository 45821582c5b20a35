"""Users and their passwords; the groups a user is in."""

from __future__ import annotations

from dataclasses import replace

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
    compliance,
    convert,
    delegation,
    directory,
    grants,
    mfa,
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
    for name in sorted(USER_OPTIONS - {"multi_factor_auth_rules"}):
        value = options.get(name)
        if value is not None and not isinstance(value, bool):
            raise ValidationError(f"Invalid input for user option {name}: must be a boolean.")
    return options


def _password(deps: Deps, password: str | None) -> compliance.NewPassword | None:
    """An administrator's password for a user (hashed outside the transaction)."""
    if password is None:
        return None
    return compliance.new_password(deps, password, by_admin=True)


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
        session.add(user)
        if pw is not None:
            pw.apply(deps.opts.compliance, session, user)
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
    password_expires_at: str | None = None,
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
        found = [_view(deps, u) for u in session.scalars(query)]
    if within_domain:
        found = [u for u in found if u.domain_id == within_domain]
    if password_expires_at is not None:
        matches = compliance.expiry_filter(password_expires_at)
        found = [u for u in found if matches(u.password_expires_at)]
    return found


def _view(deps: Deps, row: models.User) -> User:
    """A user as the API shows it: disabled once inactive too long, as upstream."""
    user = convert.user(row)
    if user.enabled and compliance.inactive(deps.opts.compliance, row, utcnow()):
        return replace(user, enabled=False)
    return user


def authorized(deps: Deps, ctx: RequestContext, rule: str, user_id: str) -> User:
    """Load a user (404) and enforce ``rule`` on it (403)."""
    directory.refresh(deps, user_id)
    with deps.db.reader() as session:
        user = _view(deps, _rows.user(session, user_id))
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
            if data["enabled"]:
                # as upstream: enabling (even an enabled user) restarts the failure
                # count and the inactivity clock
                compliance.enabled_again(session, user)
            user.enabled = data["enabled"]
        if "options" in data:
            opts = {**user.options, **_check_options(data["options"] or {})}
            user.options = {k: v for k, v in opts.items() if v is not None}
        if pw is not None:
            pw.apply(deps.opts.compliance, session, user)
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
    """A user's own password change: the original password authenticates it (lockout
    applies; an expired password may be changed), then ``[security_compliance]``'s
    strength, ``lock_password``, minimum age and history rules, as upstream."""
    directory.refuse_if_mapped(deps, user_id)
    with deps.db.reader() as session:
        user = _rows.user(session, user_id)
        domain = session.get(models.Domain, user.domain_id)
        # a disabled user (or one in a disabled domain) cannot change its password
        if not user.enabled or domain is None or not domain.enabled:
            raise AuthFailed()
    compliance.verify_password(deps, user_id, original, allow_expired=True)
    rules = deps.opts.compliance
    compliance.check_strength(rules, new)
    with deps.db.reader() as session:
        user = _rows.user(session, user_id)
        compliance.check_self_service(rules, user)
        recent = compliance.recent_hashes(rules, session, user)
    compliance.check_history(rules, recent, new)
    pw = compliance.new_password(deps, new, by_admin=False)

    def tx(session: Session) -> list[RevocationEvent]:
        user = _rows.user(session, user_id)
        pw.apply(rules, session, user)
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
