"""Consumers (what allocations belong to), with their project, user, type and generation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tinystack.common.timeutils import utcnow
from tinystack.placement import models
from tinystack.placement.services.deps import Deps
from tinystack.placement.services.rows import insert_id

_CONSUMER = models.CONSUMER_TBL
_PROJECT = models.PROJECT_TBL
_USER = models.USER_TBL
_CTYPE = models.CONSUMER_TYPE_TBL
_ALLOC = models.ALLOC_TBL
#: how the API names consumers created before microversion 1.38 (no type)
UNKNOWN_TYPE = "unknown"


@dataclass(frozen=True, slots=True)
class Consumer:
    id: int
    uuid: str
    generation: int
    project_id: int
    user_id: int
    consumer_type_id: int | None
    project_external_id: str
    user_external_id: str
    created_at: datetime | None = None
    updated_at: datetime | None = None


_BY_UUIDS = (
    sa.select(
        _CONSUMER.c.id,
        _CONSUMER.c.uuid,
        _CONSUMER.c.generation,
        _CONSUMER.c.project_id,
        _CONSUMER.c.user_id,
        _CONSUMER.c.consumer_type_id,
        _PROJECT.c.external_id.label("project_external_id"),
        _USER.c.external_id.label("user_external_id"),
        _CONSUMER.c.created_at,
        _CONSUMER.c.updated_at,
    )
    .join(_PROJECT, _PROJECT.c.id == _CONSUMER.c.project_id)
    .join(_USER, _USER.c.id == _CONSUMER.c.user_id)
    .where(_CONSUMER.c.uuid.in_(sa.bindparam("uuids", expanding=True)))
)


def get_many(session: Session, uuids: Iterable[str]) -> dict[str, Consumer]:
    wanted = sorted(set(uuids))
    if not wanted:
        return {}
    rows = session.execute(_BY_UUIDS, {"uuids": wanted})
    return {row.uuid: Consumer(**row._mapping) for row in rows}


def _ensure_external(deps: Deps, session: Session, table: sa.Table, external_id: str) -> int:
    """Id of the project/user row for a Keystone id, inserting it on first sight."""
    key = (table.name, external_id)
    cached = deps.external_ids.get(key)
    if cached is not None:
        return cached
    found = session.scalar(sa.select(table.c.id).where(table.c.external_id == external_id))
    if found is not None:
        deps.external_ids[key] = found
        return int(found)
    return insert_id(session, table.insert().values(external_id=external_id, created_at=utcnow()))


def ensure_project(deps: Deps, session: Session, external_id: str) -> int:
    return _ensure_external(deps, session, _PROJECT, external_id)


def ensure_user(deps: Deps, session: Session, external_id: str) -> int:
    return _ensure_external(deps, session, _USER, external_id)


def ensure_type(deps: Deps, session: Session, name: str) -> int:
    found = deps.consumer_types.id_of(session, name)
    if found is not None:
        return found
    new_id = insert_id(session, _CTYPE.insert().values(name=name, created_at=utcnow()))
    deps.consumer_types.invalidate()
    return new_id


def type_name(deps: Deps, session: Session, type_id: int | None) -> str:
    return UNKNOWN_TYPE if type_id is None else deps.consumer_types.name_of(session, type_id)


def delete_unused(session: Session, uuids: Iterable[str]) -> None:
    """Delete the consumer records of these consumers that have no allocations left."""
    wanted = list(set(uuids))
    if not wanted:
        return
    has_allocs = sa.select(_ALLOC.c.id).where(_ALLOC.c.consumer_id == _CONSUMER.c.uuid).exists()
    session.execute(_CONSUMER.delete().where(_CONSUMER.c.uuid.in_(wanted), ~has_allocs))
