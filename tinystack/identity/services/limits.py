"""Unified limits: registered limits (a service's default for a resource, per region) and
project or domain limits that override them; the enforcement model (``flat`` or
``strict_two_level``, ``[unified_limit] enforcement_model``) validates the latter.

As upstream: a limit needs its registered limit (403 otherwise); duplicates are 409; a
registered limit that limits refer to can be neither updated nor deleted (403); an
unknown service, region, project or domain is a 400 naming the attribute. Under
``strict_two_level`` a project limit may not exceed its domain's limit (or, with none,
the registered default), and a domain limit may not fall below a project limit in it
(403 "Invalid resource limit").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import Conflict, Forbidden, NotFound, ValidationError
from tinystack.common.timeutils import new_hex_id
from tinystack.identity import models
from tinystack.identity.services.access import enforce
from tinystack.identity.services.deps import Deps

FLAT = "flat"
STRICT_TWO_LEVEL = "strict_two_level"
MODELS = {
    FLAT: "Limit enforcement and validation does not take project hierarchy into consideration.",
    STRICT_TWO_LEVEL: "This model requires project hierarchy never exceeds a depth of two",
}


@dataclass(frozen=True, slots=True)
class RegisteredLimit:
    id: str
    service_id: str
    region_id: str | None
    resource_name: str
    default_limit: int
    description: str | None


@dataclass(frozen=True, slots=True)
class Limit:
    id: str
    project_id: str | None
    domain_id: str | None
    service_id: str
    region_id: str | None
    resource_name: str
    resource_limit: int
    description: str | None


@dataclass(frozen=True, slots=True)
class Model:
    name: str
    description: str


class RegisteredLimitFields(TypedDict, total=False):
    service_id: str
    region_id: str | None
    resource_name: str
    default_limit: int
    description: str | None


class LimitFields(TypedDict, total=False):
    project_id: str | None
    domain_id: str | None
    service_id: str
    region_id: str | None
    resource_name: str
    resource_limit: int
    description: str | None


class LimitFilters(TypedDict, total=False):
    service_id: str
    region_id: str
    resource_name: str
    project_id: str
    domain_id: str


def model(deps: Deps) -> Model:
    name = deps.opts.limit_enforcement_model
    return Model(name=name, description=MODELS[name])


def _key(service_id: str, region_id: str | None, resource_name: str) -> str:
    return f"{service_id}\n{region_id or ''}\n{resource_name}"


def _registered(row: models.RegisteredLimit) -> RegisteredLimit:
    return RegisteredLimit(
        id=row.id,
        service_id=row.service_id,
        region_id=row.region_id,
        resource_name=row.resource_name,
        default_limit=row.default_limit,
        description=row.description,
    )


def _limit(row: models.Limit, reg: models.RegisteredLimit) -> Limit:
    return Limit(
        id=row.id,
        project_id=row.project_id,
        domain_id=row.domain_id,
        service_id=reg.service_id,
        region_id=reg.region_id,
        resource_name=reg.resource_name,
        resource_limit=row.resource_limit,
        description=row.description,
    )


def _missing(attribute: str, target: str) -> ValidationError:
    return ValidationError(
        f"Expecting to find {attribute} in {target}. The server could not comply with the "
        "request since it is either malformed or otherwise incorrect. The client is "
        "assumed to be in error."
    )


def _check_refs(session: Session, data: Any, target: str) -> None:
    """The service, region, project and domain a limit names exist (400 otherwise)."""
    if (
        data.get("service_id") is not None
        and session.get(models.Service, data["service_id"]) is None
    ):
        raise _missing("service_id", target)
    if data.get("region_id") is not None and session.get(models.Region, data["region_id"]) is None:
        raise _missing("region_id", target)
    if (
        data.get("project_id") is not None
        and session.get(models.Project, data["project_id"]) is None
    ):
        raise _missing("project_id", target)
    if data.get("domain_id") is not None and session.get(models.Domain, data["domain_id"]) is None:
        raise _missing("domain_id", target)


def _duplicate(kind: str) -> Conflict:
    return Conflict(f"Conflict occurred attempting to store {kind} - Duplicate entry.")


# -- registered limits ------------------------------------------------------------------------


def create_registered(deps: Deps, items: list[RegisteredLimitFields]) -> list[RegisteredLimit]:
    def tx(session: Session) -> list[RegisteredLimit]:
        created = []
        for item in items:
            _check_refs(session, item, "registered_limit")
            key = _key(item["service_id"], item.get("region_id"), item["resource_name"])
            clash = select(models.RegisteredLimit.id).where(
                models.RegisteredLimit.unique_key == key
            )
            if session.scalars(clash).first() is not None:
                raise _duplicate("registered_limit")
            row = models.RegisteredLimit(
                id=new_hex_id(),
                service_id=item["service_id"],
                region_id=item.get("region_id"),
                resource_name=item["resource_name"],
                default_limit=item["default_limit"],
                description=item.get("description"),
                unique_key=key,
            )
            session.add(row)
            session.flush()
            created.append(_registered(row))
        return created

    try:
        return deps.db.write(tx)
    except IntegrityError:
        raise _duplicate("registered_limit") from None


def _registered_row(session: Session, registered_id: str) -> models.RegisteredLimit:
    row = session.get(models.RegisteredLimit, registered_id)
    if row is None:
        raise NotFound(f"Could not find registered limit for {registered_id}.")
    return row


def _refused_while_used(session: Session, row: models.RegisteredLimit) -> None:
    used = select(models.Limit.id).where(models.Limit.registered_limit_id == row.id)
    if session.scalars(used).first() is not None:
        raise Forbidden(
            f"Unable to update or delete registered limit {row.id} because there are "
            "project limits associated with it."
        )


def get_registered(deps: Deps, registered_id: str) -> RegisteredLimit:
    with deps.db.reader() as session:
        return _registered(_registered_row(session, registered_id))


def list_registered(deps: Deps, filters: LimitFilters) -> list[RegisteredLimit]:
    with deps.db.reader() as session:
        query = select(models.RegisteredLimit).order_by(models.RegisteredLimit.id)
        for name in ("service_id", "region_id", "resource_name"):
            if name in filters:
                query = query.where(getattr(models.RegisteredLimit, name) == filters[name])
        return [_registered(r) for r in session.scalars(query)]


def update_registered(
    deps: Deps, registered_id: str, data: RegisteredLimitFields
) -> RegisteredLimit:
    def tx(session: Session) -> RegisteredLimit:
        row = _registered_row(session, registered_id)
        _check_refs(session, data, "registered_limit")
        _refused_while_used(session, row)
        for name in ("service_id", "region_id", "resource_name", "default_limit", "description"):
            if name in data:
                setattr(row, name, data[name])
        key = _key(row.service_id, row.region_id, row.resource_name)
        if key != row.unique_key:
            clash = select(models.RegisteredLimit.id).where(
                models.RegisteredLimit.unique_key == key
            )
            if session.scalars(clash).first() is not None:
                raise _duplicate("registered_limit")
            row.unique_key = key
        session.flush()
        return _registered(row)

    try:
        return deps.db.write(tx)
    except IntegrityError:
        raise _duplicate("registered_limit") from None


def delete_registered(deps: Deps, registered_id: str) -> None:
    def tx(session: Session) -> None:
        row = _registered_row(session, registered_id)
        _refused_while_used(session, row)
        session.delete(row)

    deps.db.write(tx)


# -- project and domain limits ----------------------------------------------------------------


def _find_registered(
    session: Session, service_id: str, region_id: str | None, resource_name: str
) -> models.RegisteredLimit | None:
    key = _key(service_id, region_id, resource_name)
    query = select(models.RegisteredLimit).where(models.RegisteredLimit.unique_key == key)
    return session.scalars(query).first()


def _limit_of(session: Session, registered_id: str, target_id: str) -> models.Limit | None:
    query = select(models.Limit).where(
        models.Limit.registered_limit_id == registered_id, models.Limit.target_id == target_id
    )
    return session.scalars(query).first()


def _invalid(
    level: str, target_id: str, item: LimitFields, reg: models.RegisteredLimit
) -> Forbidden:
    return Forbidden(
        f"Invalid resource limit: The resource limit ({level}: {target_id}, "
        f"resource_name: {reg.resource_name}, resource_limit: {item['resource_limit']}, "
        f"service_id: {reg.service_id}, region_id: {reg.region_id}) doesn't satisfy "
        "current hierarchy model.."
    )


def _check_two_level(
    session: Session, item: LimitFields, reg: models.RegisteredLimit, batch: list[LimitFields]
) -> None:
    """strict_two_level: a project limit <= its domain's (or the default); a domain limit
    >= every project limit in the domain."""
    value = item["resource_limit"]
    if item.get("project_id"):
        project = session.get(models.Project, item["project_id"])
        assert project is not None
        parent = project.parent_id or project.domain_id
        in_batch = [
            b
            for b in batch
            if b.get("domain_id") == parent
            and b["service_id"] == reg.service_id
            and b.get("region_id") == reg.region_id
            and b["resource_name"] == reg.resource_name
        ]
        if in_batch:
            ceiling: int | None = in_batch[0]["resource_limit"]
        else:
            parent_limit = _limit_of(session, reg.id, parent)
            ceiling = parent_limit.resource_limit if parent_limit else reg.default_limit
        if ceiling is not None and ceiling >= 0 and (value < 0 or value > ceiling):
            raise _invalid("project_id", str(item["project_id"]), item, reg)
        return
    domain_id = str(item.get("domain_id"))
    projects = select(models.Project.id).where(models.Project.domain_id == domain_id)
    children = select(models.Limit.resource_limit).where(
        models.Limit.registered_limit_id == reg.id, models.Limit.project_id.in_(projects)
    )
    if value >= 0 and any(c < 0 or value < c for c in session.scalars(children)):
        raise _invalid("domain_id", domain_id, item, reg)


def _target(item: LimitFields) -> str:
    return str(item.get("project_id") or item.get("domain_id"))


def create_limits(deps: Deps, items: list[LimitFields]) -> list[Limit]:
    strict = deps.opts.limit_enforcement_model == STRICT_TWO_LEVEL

    def tx(session: Session) -> list[Limit]:
        created = []
        for item in items:
            _check_refs(session, item, "limit")
            reg = _find_registered(
                session, item["service_id"], item.get("region_id"), item["resource_name"]
            )
            if reg is None:
                raise Forbidden(
                    "Unable to create a limit that has no corresponding registered limit."
                )
            if _limit_of(session, reg.id, _target(item)) is not None:
                raise _duplicate("limit")
            if strict:
                _check_two_level(session, item, reg, items)
            row = models.Limit(
                id=new_hex_id(),
                registered_limit_id=reg.id,
                project_id=item.get("project_id"),
                domain_id=item.get("domain_id"),
                target_id=_target(item),
                resource_limit=item["resource_limit"],
                description=item.get("description"),
            )
            session.add(row)
            session.flush()
            created.append(_limit(row, reg))
        return created

    try:
        return deps.db.write(tx)
    except IntegrityError:
        raise _duplicate("limit") from None


def _limit_row(session: Session, limit_id: str) -> tuple[models.Limit, models.RegisteredLimit]:
    row = session.get(models.Limit, limit_id)
    reg = session.get(models.RegisteredLimit, row.registered_limit_id) if row else None
    if row is None or reg is None:
        raise NotFound(f"Could not find limit for {limit_id}.")
    return row, reg


def get_limit(deps: Deps, ctx: RequestContext, limit_id: str) -> Limit:
    """A limit, authorized with upstream's target (the limit, its project or domain)."""
    with deps.db.reader() as session:
        try:
            row, reg = _limit_row(session, limit_id)
        except NotFound:
            row = None
        target: dict[str, Any] = {}
        if row is not None:
            limit: dict[str, Any] = {"id": row.id, "project_id": row.project_id}
            if row.project_id:
                project = session.get(models.Project, row.project_id)
                limit["project"] = {
                    "id": row.project_id,
                    "domain_id": project.domain_id if project else None,
                }
            elif row.domain_id:
                limit["domain"] = {"id": row.domain_id}
            target = {"target": {"limit": limit}}
    enforce(ctx, "identity:get_limit", target)
    with deps.db.reader() as session:
        row, reg = _limit_row(session, limit_id)
        return _limit(row, reg)


def list_limits(deps: Deps, ctx: RequestContext, filters: LimitFilters) -> list[Limit]:
    """Limits by filter; a domain-scoped caller sees its domain's, a project-scoped
    non-admin its project's, as upstream."""
    superuser = ctx.system_scope or {"admin", "service"} & set(ctx.roles)
    with deps.db.reader() as session:
        query = (
            select(models.Limit, models.RegisteredLimit)
            .join(
                models.RegisteredLimit,
                models.RegisteredLimit.id == models.Limit.registered_limit_id,
            )
            .order_by(models.Limit.id)
        )
        for name in ("service_id", "region_id", "resource_name"):
            if name in filters:
                query = query.where(getattr(models.RegisteredLimit, name) == filters[name])
        for name in ("project_id", "domain_id"):
            if name in filters:
                query = query.where(getattr(models.Limit, name) == dict(filters)[name])
        if not superuser and ctx.domain_id:
            projects = select(models.Project.id).where(models.Project.domain_id == ctx.domain_id)
            query = query.where(
                (models.Limit.domain_id == ctx.domain_id) | models.Limit.project_id.in_(projects)
            )
        elif not superuser:
            query = query.where(models.Limit.project_id == (ctx.project_id or ""))
        return [_limit(row, reg) for row, reg in session.execute(query)]


def update_limit(deps: Deps, limit_id: str, data: LimitFields) -> Limit:
    strict = deps.opts.limit_enforcement_model == STRICT_TWO_LEVEL

    def tx(session: Session) -> Limit:
        row, reg = _limit_row(session, limit_id)
        if "resource_limit" in data:
            if strict:
                item: LimitFields = {
                    "project_id": row.project_id,
                    "domain_id": row.domain_id,
                    "service_id": reg.service_id,
                    "region_id": reg.region_id,
                    "resource_name": reg.resource_name,
                    "resource_limit": data["resource_limit"],
                }
                _check_two_level(session, item, reg, [])
            row.resource_limit = data["resource_limit"]
        if "description" in data:
            row.description = data["description"]
        session.flush()
        return _limit(row, reg)

    return deps.db.write(tx)


def delete_limit(deps: Deps, limit_id: str) -> None:
    def tx(session: Session) -> None:
        row, _reg = _limit_row(session, limit_id)
        session.delete(row)

    deps.db.write(tx)
