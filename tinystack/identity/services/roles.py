"""Roles and implied roles (role inference)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.auth.revocation import RevocationEvent
from tinystack.common.exceptions import Conflict, Forbidden, NotFound, ValidationError
from tinystack.common.timeutils import new_hex_id
from tinystack.identity import models
from tinystack.identity.services import convert, revoke
from tinystack.identity.services.access import enforce, role_target
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.records import JSON, Role, RoleFields, RoleInference

#: upstream's [assignment] prohibited_implied_role default
PROHIBITED_IMPLIED = ("admin",)
#: the only role option upstream has
ROLE_OPTIONS = {"immutable"}


def get(session: Session, role_id: str) -> models.Role:
    role = session.get(models.Role, role_id)
    if role is None:
        raise NotFound(f"Could not find role: {role_id}.")
    return role


def find_by_name(session: Session, name: str, domain_id: str | None = None) -> models.Role | None:
    query = select(models.Role).where(models.Role.name == name)
    query = query.where(
        models.Role.domain_id.is_(None) if domain_id is None else models.Role.domain_id == domain_id
    )
    return session.scalars(query).first()


def create(deps: Deps, data: RoleFields) -> Role:
    def tx(session: Session) -> Role:
        name = data["name"]
        domain_id = data.get("domain_id")
        if find_by_name(session, name, domain_id) is not None:
            raise Conflict(f"Duplicate entry found with name {name}.")
        if domain_id is not None and session.get(models.Domain, domain_id) is None:
            raise NotFound(f"Could not find domain: {domain_id}.")
        role = models.Role(
            id=new_hex_id(),
            name=name,
            domain_id=domain_id,
            description=data.get("description"),
            options={k: v for k, v in _check_options(data.get("options")).items() if v is not None},
            extra=data.get("extra") or {},
        )
        session.add(role)
        session.flush()
        return convert.role(role)

    try:
        return deps.db.write(tx)
    except IntegrityError:
        raise Conflict(f"Duplicate entry found with name {data['name']}.") from None


def list_roles(deps: Deps, name: str | None, domain_id: str | None) -> list[Role]:
    with deps.db.reader() as session:
        query = select(models.Role).order_by(models.Role.name)
        if name is not None:
            query = query.where(models.Role.name == name)
        query = query.where(
            models.Role.domain_id.is_(None)
            if domain_id is None
            else models.Role.domain_id == domain_id
        )
        return [convert.role(r) for r in session.scalars(query)]


def authorized(deps: Deps, ctx: RequestContext, rule: str, role_id: str) -> Role:
    """Load a role (404) and enforce ``rule`` on it (403)."""
    with deps.db.reader() as session:
        role = convert.role(get(session, role_id))
    enforce(ctx, rule, role_target(role.domain_id))
    return role


def show(deps: Deps, ctx: RequestContext, role_id: str) -> Role:
    return authorized(deps, ctx, "identity:get_role", role_id)


def _check_options(options: dict[str, JSON] | None) -> dict[str, JSON]:
    options = options or {}
    unknown = set(options) - ROLE_OPTIONS
    if unknown:
        raise ValidationError(f"Invalid role options: {', '.join(sorted(unknown))}.")
    for name, value in options.items():
        if value is not None and not isinstance(value, bool):
            raise ValidationError(f"Role option {name} must be a boolean or null.")
    return options


def update(deps: Deps, ctx: RequestContext, role_id: str, data: RoleFields) -> Role:
    authorized(deps, ctx, "identity:update_role", role_id)
    if "id" in data:
        raise ValidationError("Cannot change ID")
    options = _check_options(data.get("options")) if "options" in data else None

    def tx(session: Session) -> tuple[Role, list[RevocationEvent]]:
        role = get(session, role_id)
        events: list[RevocationEvent] = []
        if role.options.get("immutable") and (options or {}).get("immutable") is not False:
            raise Forbidden(f"Role {role_id} is immutable.")
        if "domain_id" in data and data["domain_id"] != role.domain_id:
            raise ValidationError("domain_id is immutable.")
        if "name" in data and data["name"] != role.name:
            if find_by_name(session, data["name"], role.domain_id) is not None:
                raise Conflict(f"Duplicate entry found with name {data['name']}.")
            role.name = data["name"]
            # Tokens carry role names, which policies check: old names must not linger.
            events.append(revoke.record(session, role_id=role_id))
        if "description" in data:
            role.description = data["description"]
        if options is not None:
            merged = {**role.options, **options}
            role.options = {k: v for k, v in merged.items() if v is not None}
        if data.get("extra"):
            role.extra = {**role.extra, **data["extra"]}
        return convert.role(role), events

    role, events = deps.db.write(tx)
    revoke.publish(deps, events)
    deps.clear_caches()
    return role


def delete(deps: Deps, ctx: RequestContext, role_id: str) -> None:
    authorized(deps, ctx, "identity:delete_role", role_id)

    def tx(session: Session) -> list[RevocationEvent]:
        role = get(session, role_id)
        if role.options.get("immutable"):
            raise Forbidden(f"Role {role_id} is immutable.")
        event = revoke.record(session, role_id=role_id)
        # As upstream: users granted the role on a project lose their application
        # credentials for that project.
        direct = session.execute(
            select(models.Assignment.actor_id, models.Assignment.target_id).where(
                models.Assignment.role_id == role_id, models.Assignment.type == "UserProject"
            )
        ).all()
        cred = models.ApplicationCredential
        for user_id, project_id in direct:
            session.execute(
                sa.delete(cred).where(cred.user_id == user_id, cred.project_id == project_id)
            )
        session.execute(sa.delete(models.Assignment).where(models.Assignment.role_id == role_id))
        session.execute(
            sa.delete(models.ImpliedRole).where(
                (models.ImpliedRole.prior_role_id == role_id)
                | (models.ImpliedRole.implied_role_id == role_id)
            )
        )
        session.delete(role)
        return [event]

    revoke.publish(deps, deps.db.write(tx))


# -- implied roles ---------------------------------------------------------------------------


def implications(session: Session) -> dict[str, list[str]]:
    rows = session.execute(
        select(models.ImpliedRole.prior_role_id, models.ImpliedRole.implied_role_id)
    )
    out: dict[str, list[str]] = {}
    for prior, implied in rows:
        out.setdefault(prior, []).append(implied)
    return out


def expand(session: Session, role_ids: set[str]) -> set[str]:
    """Role ids plus every role they imply, transitively."""
    graph = implications(session)
    result = set(role_ids)
    stack = list(role_ids)
    while stack:
        for implied in graph.get(stack.pop(), ()):
            if implied not in result:
                result.add(implied)
                stack.append(implied)
    return result


def create_implied(deps: Deps, prior_id: str, implied_id: str) -> tuple[Role, Role]:
    def tx(session: Session) -> tuple[Role, Role]:
        prior, implied = get(session, prior_id), get(session, implied_id)
        if implied.name in PROHIBITED_IMPLIED:
            raise Forbidden(f"{implied_id} cannot be an implied roles.")
        if prior.domain_id is None and implied.domain_id is not None:
            raise Forbidden("Global role cannot imply a domain-specific role")
        if prior_id == implied_id or prior_id in expand(session, {implied_id}):
            raise Forbidden(
                f"Creating the implied role {prior_id} => {implied_id} would create a loop."
            )
        if session.get(models.ImpliedRole, (prior_id, implied_id)) is None:
            session.add(models.ImpliedRole(prior_role_id=prior_id, implied_role_id=implied_id))
        return convert.role(prior), convert.role(implied)

    result = deps.db.write(tx)
    deps.clear_caches()
    return result


def get_implied(deps: Deps, prior_id: str, implied_id: str) -> tuple[Role, Role]:
    with deps.db.reader() as session:
        prior, implied = get(session, prior_id), get(session, implied_id)
        if session.get(models.ImpliedRole, (prior_id, implied_id)) is None:
            raise NotFound(f"{prior_id} does not imply {implied_id}.")
        return convert.role(prior), convert.role(implied)


def delete_implied(deps: Deps, prior_id: str, implied_id: str) -> None:
    def tx(session: Session) -> list[RevocationEvent]:
        get(session, prior_id)
        get(session, implied_id)
        row = session.get(models.ImpliedRole, (prior_id, implied_id))
        if row is None:
            raise NotFound(f"{prior_id} does not imply {implied_id}.")
        session.delete(row)
        return [revoke.record(session, role_id=prior_id)]

    revoke.publish(deps, deps.db.write(tx))


def list_implied(deps: Deps, prior_id: str) -> RoleInference:
    with deps.db.reader() as session:
        prior = get(session, prior_id)
        graph = implications(session)
        return _inference(session, prior, graph.get(prior_id, []))


def list_all_implied(deps: Deps) -> list[RoleInference]:
    with deps.db.reader() as session:
        graph = implications(session)
        return [_inference(session, get(session, p), imps) for p, imps in graph.items()]


def _inference(session: Session, prior: models.Role, implied_ids: list[str]) -> RoleInference:
    implies = tuple(convert.role(get(session, rid)) for rid in implied_ids)
    return RoleInference(prior=convert.role(prior), implies=implies)
