"""Keystone's ``[security_compliance]`` rules: password strength, expiry and history,
minimum password age, account lockout after failed passwords and inactive accounts.

Every rule is off unless its option is set; the user options
``ignore_lockout_failure_attempts``, ``ignore_password_expiry``,
``ignore_change_password_upon_first_use``, ``ignore_user_inactivity`` and
``lock_password`` exempt a user, as upstream. Hashing and bcrypt checks run outside
transactions (they are slow and must not hold the write lock).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.exceptions import Unauthorized, ValidationError
from tinystack.common.timeutils import utcnow
from tinystack.identity import models
from tinystack.identity.conf import Compliance
from tinystack.identity.exception import AuthFailed
from tinystack.identity.services import passwords
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.records import JSON

SELF_SERVICE_DISABLED = (
    "You cannot change your password at this time due to password policy disallowing "
    "password changes. Please contact your administrator to reset your password."
)


class AccountLocked(Unauthorized):
    def __init__(self, user_id: str) -> None:
        super().__init__(f"The account is locked for user: {user_id}.")


class PasswordExpired(Unauthorized):
    def __init__(self, user_id: str) -> None:
        super().__init__(f"The password is expired and needs to be changed for user: {user_id}.")


class UserDisabled(Unauthorized):
    def __init__(self, user_id: str) -> None:
        super().__init__(f"The account is disabled for user: {user_id}.")


def _option(options: dict[str, JSON], name: str) -> bool:
    return options.get(name) is True


# -- new passwords ----------------------------------------------------------------------------


def check_strength(rules: Compliance, password: str) -> None:
    """``password_regex``: a new password must match it (400 with its description)."""
    if not rules.password_regex:
        return
    try:
        matched = re.match(rules.password_regex, password) is not None
    except re.error:
        raise ValidationError(
            "Password validation error: Unable to validate password due to invalid configuration."
        ) from None
    if not matched:
        detail = rules.password_regex_description or ""
        raise ValidationError(f"The password does not match the requirements: {detail}.")


@dataclass(frozen=True, slots=True)
class NewPassword:
    """A password's columns, hashed outside the transaction."""

    password: str
    password_hash: str
    created_at: datetime
    #: set by an administrator (create or reset), not by the user itself
    by_admin: bool

    def apply(self, rules: Compliance, session: Session, user: models.User) -> None:
        """Make this the user's password, keeping the previous one in its history."""
        if user.password_hash:
            session.add(
                models.PasswordHistory(
                    user_id=user.id,
                    password_hash=user.password_hash,
                    created_at=user.password_created_at or self.created_at,
                )
            )
            session.flush()
            _trim_history(session, user.id, max(rules.unique_last_password_count, 1))
        user.password_hash = self.password_hash
        user.password_created_at = self.created_at
        user.password_self_service = not self.by_admin
        user.password_expires_at = _expires_at(rules, user.options or {}, self)


def new_password(deps: Deps, password: str, *, by_admin: bool) -> NewPassword:
    check_strength(deps.opts.compliance, password)
    return NewPassword(
        password=password,
        password_hash=passwords.hash_password(password, deps.opts.password_hash_rounds),
        created_at=utcnow(),
        by_admin=by_admin,
    )


def _expires_at(rules: Compliance, options: dict[str, JSON], pw: NewPassword) -> datetime | None:
    if (
        pw.by_admin
        and rules.change_password_upon_first_use
        and not _option(options, "ignore_change_password_upon_first_use")
    ):
        return pw.created_at
    if rules.password_expires_days and not _option(options, "ignore_password_expiry"):
        return (pw.created_at + timedelta(days=rules.password_expires_days)).replace(microsecond=0)
    return None


def _trim_history(session: Session, user_id: str, keep: int) -> None:
    kept = select(models.PasswordHistory.id).where(models.PasswordHistory.user_id == user_id)
    kept_ids = list(session.scalars(kept.order_by(models.PasswordHistory.id.desc()).limit(keep)))
    session.execute(
        sa.delete(models.PasswordHistory).where(
            models.PasswordHistory.user_id == user_id,
            models.PasswordHistory.id.not_in(kept_ids),
        )
    )


def recent_hashes(rules: Compliance, session: Session, user: models.User) -> list[str]:
    """The hashes a self-service password must differ from: the current one and the
    previous ``unique_last_password_count - 1``."""
    count = rules.unique_last_password_count
    if count <= 0:
        return []
    older = select(models.PasswordHistory.password_hash).where(
        models.PasswordHistory.user_id == user.id
    )
    found = list(session.scalars(older.order_by(models.PasswordHistory.id.desc())))
    current = [user.password_hash] if user.password_hash else []
    return (current + found)[:count]


def check_history(rules: Compliance, hashes: list[str], password: str) -> None:
    if any(passwords.check_password(password, h) for h in hashes):
        raise ValidationError(
            "The new password cannot be identical to a previous password. The total "
            "number which includes the new password must be unique is "
            f"{rules.unique_last_password_count}."
        )


def check_self_service(rules: Compliance, user: models.User) -> None:
    """``lock_password`` and ``minimum_password_age`` (the latter only once the user set
    its own password: an administrator's reset may be changed at once)."""
    if _option(user.options or {}, "lock_password"):
        raise ValidationError(SELF_SERVICE_DISABLED)
    if not user.password_self_service or user.password_created_at is None:
        return
    min_age = user.password_created_at + timedelta(days=rules.minimum_password_age)
    now = utcnow()
    if now < min_age:
        raise ValidationError(
            "You cannot change your password at this time due to the minimum password "
            "age. Once you change your password, it must be used for "
            f"{rules.minimum_password_age} day(s) before it can be changed. Please try "
            f"again in {(min_age - now).days} day(s) or contact your administrator to "
            "reset your password."
        )


# -- authentication ---------------------------------------------------------------------------


def _locked(rules: Compliance, user: models.User, now: datetime) -> bool:
    if _option(user.options or {}, "ignore_lockout_failure_attempts"):
        return False
    limit = rules.lockout_failure_attempts
    if not limit or (user.failed_auth_count or 0) < limit:
        return False
    return (
        user.failed_auth_at is None
        or user.failed_auth_at + timedelta(seconds=rules.lockout_duration) > now
    )


def inactive(rules: Compliance, user: models.User, now: datetime) -> bool:
    days = rules.disable_user_account_days_inactive
    if not days or _option(user.options or {}, "ignore_user_inactivity"):
        return False
    last = user.last_active_at or user.created_at
    return last is not None and (now.date() - last.date()).days >= days


def verify_password(deps: Deps, user_id: str, password: str, *, allow_expired: bool) -> None:
    """Check a SQL user's password with the lockout, inactivity and expiry rules, as
    upstream orders them: locked (401), wrong password (401, counted), disabled (401),
    expired (401 unless ``allow_expired``, as a password change allows)."""
    rules = deps.opts.compliance
    with deps.db.reader() as session:
        user = session.get(models.User, user_id)
        if user is None:
            raise AuthFailed()
        now = utcnow()
        locked = _locked(rules, user, now)
        failures = user.failed_auth_count or 0
        # a lockout that ran out starts the count again
        lapsed = (
            bool(rules.lockout_failure_attempts)
            and not locked
            and (failures >= (rules.lockout_failure_attempts or 0))
        )
        password_hash = user.password_hash
        expires_at = user.password_expires_at
        exempt = _option(user.options or {}, "ignore_password_expiry")
        stale = user.enabled and inactive(rules, user, now)
    if locked:
        raise AccountLocked(user_id)
    if not passwords.check_password(password, password_hash):
        _record_failure(deps, user_id, reset_first=lapsed)
        raise AuthFailed()
    if stale:
        deps.db.write(lambda s: _disable(s, user_id))
        raise UserDisabled(user_id)
    if not allow_expired and expires_at is not None and not exempt and expires_at <= now:
        raise PasswordExpired(user_id)
    if failures or rules.disable_user_account_days_inactive:
        deps.db.write(lambda s: _succeeded(s, user_id, now))


def _record_failure(deps: Deps, user_id: str, *, reset_first: bool) -> None:
    def tx(session: Session) -> None:
        user = session.get(models.User, user_id)
        if user is None:
            return
        user.failed_auth_count = (0 if reset_first else user.failed_auth_count or 0) + 1
        user.failed_auth_at = utcnow()

    deps.db.write(tx)


def _succeeded(session: Session, user_id: str, now: datetime) -> None:
    user = session.get(models.User, user_id)
    if user is None:
        return
    user.failed_auth_count = 0
    user.failed_auth_at = None
    user.last_active_at = now


def _disable(session: Session, user_id: str) -> None:
    user = session.get(models.User, user_id)
    if user is not None:
        user.enabled = False


def enabled_again(session: Session, user: models.User) -> None:
    """An administrator enabled the user: the failure count and inactivity start over."""
    user.failed_auth_count = 0
    user.failed_auth_at = None
    user.last_active_at = utcnow()


# -- the password_expires_at list filter ------------------------------------------------------

_OPERATORS: dict[str, Callable[[datetime, datetime], bool]] = {
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
    "eq": operator.eq,
    "neq": operator.ne,
}


def expiry_filter(value: str) -> Callable[[datetime | None], bool]:
    """``?password_expires_at=[{op}:]{timestamp}`` as upstream parses it (op defaults to
    eq); a user without an expiring password never matches."""
    op, stamp = value.split(":", 1) if ":" in value[2:4] else ("eq", value)
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValidationError(
            "Timestamp not in expected format. The server could not comply with the "
            "request since it is either malformed or otherwise incorrect. The client is "
            "assumed to be in error."
        ) from None
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    compare = _OPERATORS.get(op)
    if compare is None:
        raise ValidationError(
            f"The given operator {op} is not valid. It must be one of the following: "
            "'eq', 'neq', 'lt', 'lte', 'gt', or 'gte'."
        )
    return lambda expires: expires is not None and compare(expires, when)
