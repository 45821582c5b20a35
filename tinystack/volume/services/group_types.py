"""Group types (3.11): named kinds of generic volume groups, with group specs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.volume import exception, models
from tinystack.volume.services import _type_rows
from tinystack.volume.services.records import GroupTypeRecord


@dataclass(frozen=True, slots=True)
class GroupTypeChanges:
    name: str | None = None
    description: str | None = None
    is_public: bool | None = None


def _specs(session: Session, type_id: str) -> dict[str, str]:
    return {
        row.key: row.value
        for row in session.scalars(
            select(models.GroupTypeSpec).where(models.GroupTypeSpec.group_type_id == type_id)
        )
    }


def _record(session: Session, row: models.GroupType) -> GroupTypeRecord:
    return GroupTypeRecord(
        id=row.id,
        name=row.name,
        description=row.description,
        is_public=row.is_public,
        group_specs=_specs(session, row.id),
        created_at=row.created_at,
    )


def _row(session: Session, type_id: str) -> models.GroupType:
    row = session.get(models.GroupType, type_id)
    if row is None:
        raise exception.GroupTypeNotFound(group_type_id=type_id)
    return row


def _visible(session: Session, row: models.GroupType, project_id: str | None, admin: bool) -> bool:
    if row.is_public or admin:
        return True
    return session.get(models.GroupTypeProject, (row.id, project_id or "")) is not None


def get(db: Database, name_or_id: str, project_id: str | None, admin: bool) -> GroupTypeRecord:
    with db.reader() as session:
        row = session.get(models.GroupType, name_or_id)
        if row is None:
            row = session.scalars(
                select(models.GroupType).where(models.GroupType.name == name_or_id)
            ).first()
            if row is None:
                raise exception.GroupTypeNotFoundByName(group_type_name=name_or_id)
        if not _visible(session, row, project_id, admin):
            raise exception.GroupTypeNotFound(group_type_id=name_or_id)
        return _record(session, row)


def list_types(
    db: Database,
    project_id: str | None,
    admin: bool,
    *,
    is_public: bool | None,
    sort: list[tuple[str, str]],
    limit: int | None,
    marker: str | None,
    offset: int = 0,
) -> list[GroupTypeRecord]:
    with db.reader() as session:
        query = select(models.GroupType)
        if is_public is not None:
            shared = select(models.GroupTypeProject.group_type_id).where(
                models.GroupTypeProject.project_id == (project_id or "")
            )
            query = query.where(
                or_(models.GroupType.is_public.is_(is_public), models.GroupType.id.in_(shared))
                if is_public
                else models.GroupType.is_public.is_(False)
            )
        rows = [r for r in session.scalars(query) if _visible(session, r, project_id, admin)]
        for key, direction in reversed(sort):
            if key not in ("id", "name", "description", "is_public", "created_at"):
                raise exception.InvalidInput(reason=f"Invalid sort key {key}")
            rows.sort(key=lambda r, k=key: str(getattr(r, k)), reverse=direction == "desc")  # type: ignore[misc]
        if marker is not None:
            ids = [r.id for r in rows]
            if marker not in ids:
                raise exception.NotFound(f"Marker {marker} could not be found.")
            rows = rows[ids.index(marker) + 1 :]
        rows = rows[offset:]
        if limit is not None:
            rows = rows[:limit]
        return [_record(session, r) for r in rows]


def create(
    db: Database, name: str, description: str | None, is_public: bool, specs: dict[str, str]
) -> GroupTypeRecord:
    def tx(session: Session) -> GroupTypeRecord:
        if _type_rows.name_taken(session, models.GroupType, name):
            raise exception.GroupTypeExists(id=name)
        row = _type_rows.add_type(
            session, models.GroupType, models.GroupTypeSpec, name, description, is_public, specs
        )
        return _record(session, row)

    return db.write(tx)


def update(db: Database, type_id: str, changes: GroupTypeChanges) -> GroupTypeRecord:
    def tx(session: Session) -> GroupTypeRecord:
        row = _row(session, type_id)
        if changes.name is not None and changes.name != row.name:
            if _type_rows.name_taken(session, models.GroupType, changes.name):
                raise exception.GroupTypeExists(id=changes.name)
        _type_rows.apply_changes(session, row, changes)
        return _record(session, row)

    return db.write(tx)


def destroy(db: Database, type_id: str) -> None:
    def tx(session: Session) -> None:
        row = _row(session, type_id)
        used = session.scalar(
            select(func.count())
            .select_from(models.Group)
            .where(models.Group.group_type_id == type_id)
        )
        if used:
            raise exception.Invalid("Target group type is still in use.")
        session.delete(row)

    db.write(tx)


def set_specs(db: Database, type_id: str, specs: dict[str, str]) -> dict[str, str]:
    def tx(session: Session) -> dict[str, str]:
        _row(session, type_id)
        _type_rows.set_specs(session, models.GroupTypeSpec, type_id, specs)
        return specs

    return db.write(tx)


def delete_spec(db: Database, type_id: str, key: str) -> None:
    def tx(session: Session) -> None:
        _row(session, type_id)
        spec = session.get(models.GroupTypeSpec, (type_id, key))
        if spec is None:
            raise exception.GroupTypeSpecsNotFound(group_type_id=type_id, group_specs_key=key)
        session.delete(spec)

    db.write(tx)
