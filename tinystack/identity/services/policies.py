"""Policy blobs (``/v3/policies``): documents identity stores for other services, opaque
to it (a type, usually a media type, and the blob)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.exceptions import ValidationError
from tinystack.common.timeutils import new_hex_id
from tinystack.identity import models
from tinystack.identity.services import _rows
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.records import JSON


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    type: str
    blob: str
    extra: dict[str, JSON]


@dataclass(frozen=True, slots=True)
class PolicyFields:
    type: str | None = None
    blob: str | None = None
    extra: dict[str, JSON] = field(default_factory=dict)


def _policy(row: models.Policy) -> Policy:
    return Policy(id=row.id, type=row.type, blob=row.blob, extra=dict(row.extra))


def create(deps: Deps, data: PolicyFields) -> Policy:
    if data.type is None or data.blob is None:
        raise ValidationError("A policy needs a type and a blob.")

    def tx(session: Session) -> Policy:
        new = models.Policy(id=new_hex_id(), type=data.type, blob=data.blob, extra=data.extra)
        session.add(new)
        return _policy(new)

    return deps.db.write(tx)


def list_policies(deps: Deps, type_: str | None) -> list[Policy]:
    with deps.db.reader() as session:
        query = select(models.Policy).order_by(models.Policy.id)
        if type_ is not None:
            query = query.where(models.Policy.type == type_)
        return [_policy(r) for r in session.scalars(query)]


def show(deps: Deps, policy_id: str) -> Policy:
    with deps.db.reader() as session:
        return _policy(_rows.policy(session, policy_id))


def update(deps: Deps, policy_id: str, data: PolicyFields) -> Policy:
    def tx(session: Session) -> Policy:
        found = _rows.policy(session, policy_id)
        if data.type is not None:
            found.type = data.type
        if data.blob is not None:
            found.blob = data.blob
        if data.extra:
            found.extra = {**found.extra, **data.extra}
        return _policy(found)

    return deps.db.write(tx)


def delete(deps: Deps, policy_id: str) -> None:
    def tx(session: Session) -> None:
        session.delete(_rows.policy(session, policy_id))

    deps.db.write(tx)
