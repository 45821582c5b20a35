"""Trusts (``OS-TRUST``): a trustor delegates roles on a project to a trustee.

A trust names its roles, may let the trustee impersonate the trustor, may expire, may be
used a limited number of times, and may be redelegated by the trustee (a chain of
trusts, each at most as wide and as long-lived as its parent). Trust-scoped tokens carry
the trust (``TokenPayload.trust``); deleting the trust, or the trustor or trustee, or
taking a delegated role away from the trustor revokes them through revocation events
that match the trust, the trustor or the trustee (``common/auth/revocation.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.auth.revocation import RevocationEvent
from tinystack.common.auth.tokens import TokenPayload, TrustScope
from tinystack.common.exceptions import Conflict, Forbidden, NotFound, Unauthorized, ValidationError
from tinystack.common.timeutils import naive_utc, new_hex_id, utcnow
from tinystack.identity import models
from tinystack.identity.services import _rows, convert, grants, revoke, roles
from tinystack.identity.services.access import enforce
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.records import JSON, Role, RoleSpec


@dataclass(frozen=True, slots=True)
class Trust:
    id: str
    trustor_user_id: str
    trustee_user_id: str
    project_id: str | None
    impersonation: bool
    expires_at: datetime | None
    remaining_uses: int | None
    redelegated_trust_id: str | None
    redelegation_count: int
    roles: tuple[Role, ...]
    extra: dict[str, JSON]


@dataclass(frozen=True, slots=True)
class TrustFields:
    """A new trust as the request states it (roles by id or by name)."""

    trustor_user_id: str
    trustee_user_id: str
    impersonation: bool
    project_id: str | None = None
    roles: tuple[RoleSpec, ...] = ()
    expires_at: datetime | None = None
    remaining_uses: int | None = None
    allow_redelegation: bool = False
    redelegation_count: int | None = None
    extra: dict[str, JSON] | None = None


@dataclass(frozen=True, slots=True)
class TrustGrant:
    """What a trust-scoped token gets: its user, project, roles, trust and end."""

    user_id: str
    project_id: str | None
    roles: tuple[tuple[str, str], ...]
    trust: TrustScope
    expires_at: float | None


def _convert(session: Session, row: models.Trust) -> Trust:
    role_rows = [session.get(models.Role, r.role_id) for r in row.roles]
    return Trust(
        id=row.id,
        trustor_user_id=row.trustor_user_id,
        trustee_user_id=row.trustee_user_id,
        project_id=row.project_id,
        impersonation=row.impersonation,
        expires_at=row.expires_at,
        remaining_uses=row.remaining_uses,
        redelegated_trust_id=row.redelegated_trust_id,
        redelegation_count=row.redelegation_count,
        roles=tuple(convert.role(r) for r in role_rows if r is not None),
        extra=dict(row.extra),
    )


def _usable(row: models.Trust | None) -> bool:
    """A trust that exists, has not expired and has uses left (else upstream's 404)."""
    if row is None:
        return False
    if row.expires_at is not None and row.expires_at < utcnow():
        return False
    return row.remaining_uses is None or row.remaining_uses > 0


def _row(session: Session, trust_id: str) -> models.Trust:
    row = session.get(models.Trust, trust_id)
    if row is None or not _usable(row):
        raise NotFound(f"Could not find trust: {trust_id}.")
    return row


def _no_app_cred(token: TokenPayload) -> None:
    if token.app_cred_id is not None:
        raise Forbidden("Using method 'application_credential' is not allowed for managing trusts.")


def _target(trust: Trust | models.Trust) -> dict[str, object]:
    return {
        "target": {
            "trust": {
                "trustor_user_id": trust.trustor_user_id,
                "trustee_user_id": trust.trustee_user_id,
            }
        }
    }


# -- create ----------------------------------------------------------------------------------


def _role_ids(session: Session, specs: tuple[RoleSpec, ...]) -> list[str]:
    found: list[str] = []
    for spec in specs:
        if "id" in spec:
            role_id = spec["id"]
        else:
            named = _rows.role_by_name(session, spec.get("name", ""))
            if named is None:
                raise NotFound(f"Could not find role: {spec.get('name')}.")
            role_id = named.id
        if role_id not in found:
            found.append(role_id)
    return found


def _original_trustor(session: Session, row: models.Trust) -> str:
    while row.redelegated_trust_id:
        parent = session.get(models.Trust, row.redelegated_trust_id)
        if parent is None:
            raise Forbidden("One of the trust agents is disabled or deleted")
        row = parent
    return row.trustor_user_id


def _redelegation(
    parent: models.Trust,
    data: TrustFields,
    expires_at: datetime | None,
    role_ids: list[str],
    max_count: int,
) -> tuple[int, datetime | None]:
    """Check a trust redelegated from ``parent``; its redelegation count and expiry."""
    if not 0 < parent.redelegation_count <= max_count:
        raise Forbidden(
            f"Remaining redelegation depth of {parent.redelegation_count} out of allowed "
            f"range of [0..{max_count}]"
        )
    if data.remaining_uses is not None:
        raise Forbidden(
            f'Field "remaining_uses" is set to {data.remaining_uses} while it must not be '
            "set in order to redelegate a trust"
        )
    expires = expires_at
    if expires is None:
        expires = parent.expires_at
    elif parent.expires_at is not None and parent.expires_at < expires:
        raise Forbidden("Requested expiration time is more than redelegated trust can provide")
    if not set(role_ids) <= {r.role_id for r in parent.roles}:
        raise Forbidden("Some of requested roles are not in redelegated trust")
    if data.impersonation and not parent.impersonation:
        raise Forbidden(
            "Impersonation is not allowed because redelegated trust does not specify "
            f"impersonation. Redelegated trust id: {parent.id}"
        )
    remaining = parent.redelegation_count - 1
    if data.allow_redelegation and data.redelegation_count not in (None, remaining):
        raise Forbidden(
            'Modifying "redelegation_count" upon redelegation is forbidden. Omitting this '
            "parameter is advised."
        )
    return (remaining if data.allow_redelegation else 0), expires


def _redelegation_count(data: TrustFields, max_count: int) -> int:
    if not data.allow_redelegation or data.redelegation_count == 0:
        return 0
    if data.remaining_uses is not None:
        raise ValidationError("remaining_uses must not be set if redelegation is allowed")
    if data.redelegation_count is not None and data.redelegation_count > max_count:
        raise Forbidden(
            f"Requested redelegation depth of {data.redelegation_count} is greater than "
            f"allowed {max_count}"
        )
    return data.redelegation_count if data.redelegation_count is not None else max_count


def create(deps: Deps, ctx: RequestContext, data: TrustFields) -> Trust:
    target = {"target": {"trust": {"trustor_user_id": data.trustor_user_id}}}
    enforce(ctx, "identity:create_trust", target)
    token = ctx.payload
    assert token is not None
    _no_app_cred(token)
    if data.project_id and not data.roles:
        raise Forbidden("At least one role should be specified")
    if token.user_id != data.trustor_user_id:
        raise Forbidden("The authenticated user should match the trustor")
    if token.oauth is not None and token.trust is None:
        raise Forbidden("Redelegation allowed for delegated by trust only")
    expires_at = naive_utc(data.expires_at) if data.expires_at is not None else None
    if expires_at is not None and expires_at < utcnow():
        raise ValidationError("The 'expires_at' must not be before now.")
    max_count = deps.opts.trust_max_redelegation_count

    def tx(session: Session) -> Trust:
        _rows.user(session, data.trustee_user_id)
        role_ids = _role_ids(session, data.roles)
        parent = None
        if token.trust is not None:
            parent = _row(session, token.trust.id)
            count, expiry = _redelegation(parent, data, expires_at, role_ids, max_count)
        else:
            count, expiry = _redelegation_count(data, max_count), expires_at
        trustor = _original_trustor(session, parent) if parent is not None else data.trustor_user_id
        if data.project_id:
            _rows.project(session, data.project_id)
            held = grants.effective_role_ids(session, trustor, project_id=data.project_id)
        else:
            held = set()
        for role_id in role_ids:
            if role_id not in held:
                raise NotFound(f"Could not find role: {role_id}.")
        _check_duplicate(session, data, expiry)
        row = models.Trust(
            id=new_hex_id(),
            trustor_user_id=data.trustor_user_id,
            trustee_user_id=data.trustee_user_id,
            project_id=data.project_id,
            impersonation=data.impersonation,
            expires_at=expiry,
            remaining_uses=data.remaining_uses,
            redelegated_trust_id=parent.id if parent is not None else None,
            redelegation_count=count,
            extra=dict(data.extra or {}),
            roles=[models.TrustRole(role_id=r) for r in role_ids],
        )
        session.add(row)
        session.flush()
        return _convert(session, row)

    return deps.db.write(tx)


def _check_duplicate(session: Session, data: TrustFields, expires_at: datetime | None) -> None:
    query = select(models.Trust.id).where(
        models.Trust.trustor_user_id == data.trustor_user_id,
        models.Trust.trustee_user_id == data.trustee_user_id,
        models.Trust.impersonation == data.impersonation,
    )
    query = query.where(
        models.Trust.project_id.is_(None)
        if data.project_id is None
        else models.Trust.project_id == data.project_id
    )
    query = query.where(
        models.Trust.expires_at.is_(None)
        if expires_at is None
        else models.Trust.expires_at == expires_at
    )
    if session.scalars(query).first() is not None:
        raise Conflict("Conflict occurred attempting to store trust - Duplicate entry.")


# -- read and delete -------------------------------------------------------------------------


def list_trusts(
    deps: Deps, ctx: RequestContext, trustor_user_id: str | None, trustee_user_id: str | None
) -> list[Trust]:
    if trustor_user_id:
        target = {"target": {"trust": {"trustor_user_id": trustor_user_id}}}
        enforce(ctx, "identity:list_trusts_for_trustor", target)
    elif trustee_user_id:
        target = {"target": {"trust": {"trustee_user_id": trustee_user_id}}}
        enforce(ctx, "identity:list_trusts_for_trustee", target)
    else:
        enforce(ctx, "identity:list_trusts", {})
    assert ctx.payload is not None
    _no_app_cred(ctx.payload)
    with deps.db.reader() as session:
        query = select(models.Trust).order_by(models.Trust.id)
        if trustor_user_id:
            query = query.where(models.Trust.trustor_user_id == trustor_user_id)
        elif trustee_user_id:
            query = query.where(models.Trust.trustee_user_id == trustee_user_id)
        return [_convert(session, r) for r in session.scalars(query) if _usable(r)]


def authorized(deps: Deps, ctx: RequestContext, rule: str, trust_id: str) -> Trust:
    """Load a usable trust (404) and enforce ``rule`` on it (403)."""
    with deps.db.reader() as session:
        trust = _convert(session, _row(session, trust_id))
    enforce(ctx, rule, _target(trust))
    assert ctx.payload is not None
    _no_app_cred(ctx.payload)
    return trust


def show(deps: Deps, ctx: RequestContext, trust_id: str) -> Trust:
    return authorized(deps, ctx, "identity:get_trust", trust_id)


def roles_of(deps: Deps, ctx: RequestContext, trust_id: str) -> tuple[Role, ...]:
    return authorized(deps, ctx, "identity:list_roles_for_trust", trust_id).roles


def role_of(deps: Deps, ctx: RequestContext, trust_id: str, role_id: str) -> Role:
    trust = authorized(deps, ctx, "identity:get_role_for_trust", trust_id)
    for role in trust.roles:
        if role.id == role_id:
            return role
    raise NotFound(f"Could not find role: {role_id}.")


def _delete_chain(session: Session, row: models.Trust) -> list[RevocationEvent]:
    """Delete a trust and the trusts redelegated from it; revoke their tokens."""
    events: list[RevocationEvent] = []
    children = select(models.Trust).where(models.Trust.redelegated_trust_id == row.id)
    for child in list(session.scalars(children)):
        events += _delete_chain(session, child)
    events.append(revoke.record(session, trust_id=row.id))
    session.delete(row)
    session.flush()
    return events


def delete(deps: Deps, ctx: RequestContext, trust_id: str) -> None:
    trust = authorized(deps, ctx, "identity:delete_trust", trust_id)

    def tx(session: Session) -> list[RevocationEvent]:
        row = session.get(models.Trust, trust.id)
        if row is None:
            raise NotFound(f"Could not find trust: {trust_id}.")
        return _delete_chain(session, row)

    revoke.publish(deps, deps.db.write(tx))


def purge_for_user(session: Session, user_id: str) -> list[RevocationEvent]:
    """Delete the trusts a deleted user is trustor or trustee of."""
    query = select(models.Trust).where(
        or_(models.Trust.trustor_user_id == user_id, models.Trust.trustee_user_id == user_id)
    )
    events: list[RevocationEvent] = []
    for row in list(session.scalars(query)):
        if session.get(models.Trust, row.id) is not None:
            events += _delete_chain(session, row)
    return events


# -- trust-scoped tokens ---------------------------------------------------------------------


def _check_chain(session: Session, row: models.Trust, max_count: int) -> None:
    """A redelegated trust is usable only while its whole chain is (upstream's get_trust)."""
    child = row
    while child.redelegated_trust_id:
        parent = session.get(models.Trust, child.redelegated_trust_id)
        if parent is None or not _usable(parent):
            raise Forbidden("One of the trust agents is disabled or deleted")
        if not 0 < parent.redelegation_count <= max_count:
            raise Forbidden("Remaining redelegation depth out of allowed range")
        trustee = session.get(models.User, parent.trustee_user_id)
        if trustee is None or not trustee.enabled:
            raise Forbidden("One of the trust agents is disabled or deleted")
        child = parent


def _enabled_user(session: Session, user_id: str) -> models.User | None:
    user = session.get(models.User, user_id)
    if user is None or not user.enabled:
        return None
    domain = session.get(models.Domain, user.domain_id)
    return user if domain is not None and domain.enabled else None


def grant_for(deps: Deps, session: Session, user_id: str, trust_id: str) -> TrustGrant:
    """Scope a token of ``user_id`` (who must be the trustee) to a trust (401 if unusable)."""
    row = session.get(models.Trust, trust_id)
    if row is None or not _usable(row):
        raise Unauthorized(f"Could not find trust: {trust_id}.")
    if row.trustee_user_id != user_id:
        raise Forbidden("User is not a trustee.")
    _check_chain(session, row, deps.opts.trust_max_redelegation_count)
    if _enabled_user(session, row.trustor_user_id) is None:
        raise Forbidden("Trustor is disabled.")
    pairs: tuple[tuple[str, str], ...] = ()
    if row.project_id is not None:
        project = session.get(models.Project, row.project_id)
        domain = session.get(models.Domain, project.domain_id) if project else None
        if project is None or not project.enabled or domain is None or not domain.enabled:
            raise Unauthorized(f"Could not find project: {row.project_id}.")
        delegated = roles.expand(session, {r.role_id for r in row.roles})
        held = grants.effective_role_ids(
            session, _original_trustor(session, row), project_id=row.project_id
        )
        if not delegated <= held | _domain_roles(session, delegated):
            raise Forbidden("Trustee has no delegated roles.")
        pairs = tuple(grants.role_pairs(session, grants.strip_domain_roles(session, delegated)))
    scope = TrustScope(
        id=row.id,
        trustor_id=row.trustor_user_id,
        trustee_id=row.trustee_user_id,
        impersonation=row.impersonation,
    )
    return TrustGrant(
        user_id=row.trustor_user_id if row.impersonation else row.trustee_user_id,
        project_id=row.project_id,
        roles=pairs,
        trust=scope,
        expires_at=(
            row.expires_at.replace(tzinfo=UTC).timestamp() if row.expires_at is not None else None
        ),
    )


def _domain_roles(session: Session, role_ids: set[str]) -> set[str]:
    """Domain-specific roles never reach a token, so the trustor need not hold them."""
    return role_ids - grants.strip_domain_roles(session, role_ids)


def consume_use(deps: Deps, trust_id: str) -> None:
    """Spend one use of a trust with limited uses; 401 when none is left (race-safe)."""

    def tx(session: Session) -> None:
        result = session.execute(
            update(models.Trust)
            .where(
                models.Trust.id == trust_id,
                models.Trust.remaining_uses.is_not(None),
                models.Trust.remaining_uses > 0,
            )
            .values(remaining_uses=models.Trust.remaining_uses - 1)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            row = session.get(models.Trust, trust_id)
            if row is None or row.remaining_uses is not None:
                raise Unauthorized(f"Could not find trust: {trust_id}.")

    deps.db.write(tx)
