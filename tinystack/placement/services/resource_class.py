"""Resource classes: the standard set from os-resource-classes plus ``CUSTOM_*`` ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import os_resource_classes as orc
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tinystack.common.exceptions import BadRequest, Conflict, NotFound
from tinystack.common.timeutils import utcnow
from tinystack.placement import models
from tinystack.placement.services.deps import Deps

#: user-defined classes get ids from here up; standard ones keep their library order below
MIN_CUSTOM_ID = 10000
_RC = models.RC_TBL


@dataclass(frozen=True, slots=True)
class ResourceClass:
    id: int
    name: str
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def standard(self) -> bool:
        return self.id < MIN_CUSTOM_ID


def sync_standard(deps: Deps) -> None:
    """Insert the standard classes this os-resource-classes knows and the table lacks."""

    def _sync(session: Session) -> None:
        existing = set(session.scalars(sa.select(_RC.c.name).where(_RC.c.id < MIN_CUSTOM_ID)))
        rows = [
            {"id": index + 1, "name": name, "created_at": utcnow()}
            for index, name in enumerate(orc.STANDARDS)
            if name not in existing
        ]
        if rows:
            session.execute(_RC.insert(), rows)

    with deps.read() as session:
        existing = set(session.scalars(sa.select(_RC.c.name)))
    if set(orc.STANDARDS) - existing:
        deps.write(_sync)
    deps.resource_classes.invalidate()


def _row(row: sa.Row[Any]) -> ResourceClass:
    return ResourceClass(row.id, row.name, row.created_at, row.updated_at)


def list_all(deps: Deps) -> list[ResourceClass]:
    with deps.read() as session:
        rows = session.execute(sa.select(_RC).order_by(_RC.c.id)).all()
    return [_row(r) for r in rows]


def _get(session: Session, name: str) -> ResourceClass:
    row = session.execute(sa.select(_RC).where(_RC.c.name == name)).first()
    if row is None:
        raise NotFound(f"No such resource class {name}.")
    return _row(row)


def get(deps: Deps, name: str) -> ResourceClass:
    with deps.read() as session:
        return _get(session, name)


def _insert(session: Session, name: str) -> ResourceClass:
    if session.scalar(sa.select(_RC.c.id).where(_RC.c.name == name)) is not None:
        raise Conflict(f"Conflicting resource class already exists: {name}")
    highest = session.scalar(sa.select(sa.func.max(_RC.c.id))) or 0
    now = utcnow()
    new_id = max(highest + 1, MIN_CUSTOM_ID)
    session.execute(_RC.insert().values(id=new_id, name=name, created_at=now))
    return ResourceClass(new_id, name, now, None)


def create(deps: Deps, name: str) -> ResourceClass:
    """Create a custom class; 409 when it exists (a racing creator retries and sees it)."""
    if name in orc.STANDARDS:
        raise Conflict(f"Conflicting resource class already exists: {name}")
    created = deps.write(lambda session: _insert(session, name))
    deps.resource_classes.invalidate()
    return created


def ensure(deps: Deps, name: str) -> tuple[ResourceClass, bool]:
    """Get or create a custom class; the flag says whether it was created."""

    def _ensure(session: Session) -> tuple[ResourceClass, bool]:
        row = session.execute(sa.select(_RC).where(_RC.c.name == name)).first()
        if row is not None:
            return _row(row), False
        return _insert(session, name), True

    result = deps.write(_ensure)
    deps.resource_classes.invalidate()
    return result


def rename(deps: Deps, name: str, new_name: str) -> ResourceClass:
    def _rename(session: Session) -> ResourceClass:
        current = _get(session, name)
        if current.standard:
            raise BadRequest(f"Cannot update standard resource class {name}")
        if new_name != name and session.scalar(sa.select(_RC.c.id).where(_RC.c.name == new_name)):
            raise Conflict(f"Resource class already exists: {new_name}")
        now = utcnow()
        session.execute(
            _RC.update().where(_RC.c.id == current.id).values(name=new_name, updated_at=now)
        )
        return ResourceClass(current.id, new_name, current.created_at, now)

    renamed = deps.write(_rename)
    deps.resource_classes.invalidate()
    return renamed


def put(deps: Deps, name: str, new_name: str | None) -> tuple[ResourceClass, bool]:
    """``PUT /resource_classes/{name}``: rename (before 1.7, ``new_name`` given) or
    create-or-verify (from 1.7); the flag says whether the class was created."""
    if new_name is not None:
        return rename(deps, name, new_name), False
    return ensure(deps, name)


def delete(deps: Deps, name: str) -> None:
    def _delete(session: Session) -> None:
        current = _get(session, name)
        if current.standard:
            raise BadRequest(
                f"Error in delete resource class: Cannot delete standard resource class {name}."
            )
        in_use = session.scalar(
            sa.select(models.INV_TBL.c.id)
            .where(models.INV_TBL.c.resource_class_id == current.id)
            .limit(1)
        )
        if in_use is not None:
            raise Conflict(
                f"Error in delete resource class: Cannot delete resource class {name}. "
                "Class is in use in inventory."
            )
        session.execute(_RC.delete().where(_RC.c.id == current.id))

    deps.write(_delete)
    deps.resource_classes.invalidate()
