"""Volume types: public and private types, their extra specs and access lists, the
default type (``[volume] default_volume_type``, created at bootstrap) and per-project
default types (3.62)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models
from tinystack.volume.services import _rows, _type_rows, quotas
from tinystack.volume.services._rows import Viewer

__all__ = [
    "TypeChanges", "Viewer", "access_list", "add_access", "bootstrap", "create", "destroy",
    "delete_extra_spec", "get", "get_default", "get_record", "in_use", "list_types",
    "records", "remove_access", "set_extra_specs", "specs_of", "update",
]  # fmt: skip
from tinystack.volume.services.records import VolumeTypeRecord

DEFAULT_DESCRIPTION = "Default Volume Type"


@dataclass(frozen=True, slots=True)
class TypeChanges:
    """An update: None leaves a field as it is."""

    name: str | None = None
    description: str | None = None
    is_public: bool | None = None


def specs_of(session: Session, type_ids: list[str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {tid: {} for tid in type_ids}
    if type_ids:
        rows = session.execute(
            select(
                models.VolumeTypeExtraSpec.volume_type_id,
                models.VolumeTypeExtraSpec.key,
                models.VolumeTypeExtraSpec.value,
            ).where(models.VolumeTypeExtraSpec.volume_type_id.in_(type_ids))
        )
        for tid, key, value in rows:
            found[tid][key] = value
    return found


def _record(row: models.VolumeType, specs: dict[str, str]) -> VolumeTypeRecord:
    return VolumeTypeRecord(
        id=row.id,
        name=row.name,
        description=row.description,
        is_public=row.is_public,
        qos_specs_id=row.qos_specs_id,
        extra_specs=dict(specs),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def records(session: Session, rows: list[models.VolumeType]) -> list[VolumeTypeRecord]:
    specs = specs_of(session, [row.id for row in rows])
    return [_record(row, specs[row.id]) for row in rows]


# -- reads ------------------------------------------------------------------------------------
def get(db: Database, name_or_id: str, viewer: Viewer) -> VolumeTypeRecord:
    with db.reader() as session:
        return records(session, [_rows.find_type_row(session, name_or_id, viewer)])[0]


def get_record(db: Database, type_id: str) -> VolumeTypeRecord | None:
    """The type by id, whoever may see it (workers)."""
    with db.reader() as session:
        row = session.get(models.VolumeType, type_id)
        return records(session, [row])[0] if row is not None else None


def get_default(db: Database, default_name: str, project_id: str | None) -> VolumeTypeRecord:
    with db.reader() as session:
        return records(session, [_rows.default_type_row(session, default_name, project_id)])[0]


def list_types(
    db: Database,
    viewer: Viewer,
    *,
    is_public: bool | None,
    extra_specs: dict[str, str] | None = None,
    sort: list[tuple[str, str]] | None = None,
    limit: int | None = None,
    marker: str | None = None,
    offset: int = 0,
) -> list[VolumeTypeRecord]:
    """Types the viewer sees: ``is_public`` True: public ones and those shared with the
    viewer's project; False: private ones (admins); None: all (admins)."""
    with db.reader() as session:
        query = select(models.VolumeType)
        if is_public is not None:
            shared = select(models.VolumeTypeProject.volume_type_id).where(
                models.VolumeTypeProject.project_id == (viewer.project_id or "")
            )
            if is_public:
                query = query.where(
                    or_(models.VolumeType.is_public.is_(True), models.VolumeType.id.in_(shared))
                )
            else:
                query = query.where(models.VolumeType.is_public.is_(False))
        for key, value in (extra_specs or {}).items():
            query = query.where(
                models.VolumeType.id.in_(
                    select(models.VolumeTypeExtraSpec.volume_type_id).where(
                        models.VolumeTypeExtraSpec.key == key,
                        models.VolumeTypeExtraSpec.value == value,
                    )
                )
            )
        rows = list(session.scalars(query))
        if not viewer.is_admin:
            rows = [r for r in rows if _rows.type_visible(session, r, viewer)]
        rows = _sorted(rows, sort or [("created_at", "desc"), ("id", "desc")])
        if marker is not None:
            ids = [r.id for r in rows]
            if marker not in ids:
                raise exception.NotFound(f"Marker {marker} could not be found.")
            rows = rows[ids.index(marker) + 1 :]
        rows = rows[offset:]
        if limit is not None:
            rows = rows[:limit]
        return records(session, rows)


SORT_KEYS = {"id", "name", "description", "is_public", "created_at", "updated_at"}


def _sorted(rows: list[models.VolumeType], sort: list[tuple[str, str]]) -> list[models.VolumeType]:
    for key, direction in reversed(sort):
        if key not in SORT_KEYS:
            raise exception.InvalidInput(reason=f"Invalid sort key {key}")
        rows = sorted(
            rows,
            key=lambda r, k=key: (getattr(r, k) is not None, getattr(r, k) or ""),  # type: ignore[misc]
            reverse=direction == "desc",
        )
    return rows


def in_use(session: Session, type_id: str) -> bool:
    found = session.scalar(
        select(func.count())
        .select_from(models.Volume)
        .where(models.Volume.volume_type_id == type_id)
    )
    return bool(found)


# -- writes -----------------------------------------------------------------------------------
def create(
    db: Database, name: str, description: str | None, is_public: bool, specs: dict[str, str]
) -> VolumeTypeRecord:
    def tx(session: Session) -> VolumeTypeRecord:
        if _type_rows.name_taken(session, models.VolumeType, name):
            raise exception.VolumeTypeExists(id=name)
        row = _type_rows.add_type(
            session, models.VolumeType, models.VolumeTypeExtraSpec, name, description,
            is_public, specs,
        )  # fmt: skip
        return records(session, [row])[0]

    try:
        return db.write(tx)
    except IntegrityError:
        raise exception.VolumeTypeExists(id=name) from None


def update(db: Database, type_id: str, changes: TypeChanges) -> VolumeTypeRecord:
    def tx(session: Session) -> VolumeTypeRecord:
        row = _rows.type_row(session, type_id)
        if changes.name is not None and changes.name != row.name:
            if _type_rows.name_taken(session, models.VolumeType, changes.name):
                raise exception.VolumeTypeExists(id=changes.name)
            quotas.rename_type(session, row.name, changes.name)
        _type_rows.apply_changes(session, row, changes)
        return records(session, [row])[0]

    return db.write(tx)


def destroy(db: Database, type_id: str, default_name: str) -> None:
    def tx(session: Session) -> None:
        row = _rows.type_row(session, type_id)
        if row.name == default_name:
            raise exception.VolumeTypeDefaultDeletionError(volume_type_id=type_id)
        project_default = session.scalars(
            select(models.DefaultVolumeType.project_id).where(
                models.DefaultVolumeType.volume_type_id == type_id
            )
        ).first()
        if project_default is not None:
            raise exception.VolumeTypeDefaultDeletionError(volume_type_id=type_id)
        if in_use(session, type_id):
            raise exception.Invalid("Target volume type is still in use.")
        session.execute(
            delete(models.Encryption).where(models.Encryption.volume_type_id == type_id)
        )
        session.delete(row)

    db.write(tx)


def bootstrap(db: Database, default_name: str) -> None:
    """Create the default type once (idempotent)."""

    def tx(session: Session) -> None:
        found = session.scalars(
            select(models.VolumeType.id).where(models.VolumeType.name == default_name)
        ).first()
        if found is None:
            session.add(
                models.VolumeType(
                    id=str(uuid.uuid4()),
                    name=default_name,
                    description=DEFAULT_DESCRIPTION,
                    is_public=True,
                    created_at=utcnow(),
                )
            )

    db.write(tx)


# -- extra specs ------------------------------------------------------------------------------
def _refuse_if_in_use(session: Session, type_id: str) -> None:
    if in_use(session, type_id):
        raise exception.Invalid("Volume Type is currently in use.")


def set_extra_specs(db: Database, type_id: str, specs: dict[str, str]) -> dict[str, str]:
    """Create or update the keys of ``specs`` (a type in use may not change)."""

    def tx(session: Session) -> dict[str, str]:
        row = _rows.type_row(session, type_id)
        _refuse_if_in_use(session, type_id)
        current = specs_of(session, [type_id])[type_id]
        merged = {**current, **specs}
        truthy = "<is> True"
        if merged.get("multiattach") == truthy and merged.get("cacheable") == truthy:
            raise exception.Invalid("cacheable cannot be set with multiattach.")
        _type_rows.set_specs(session, models.VolumeTypeExtraSpec, type_id, specs)
        row.updated_at = utcnow()
        return specs

    return db.write(tx)


def delete_extra_spec(db: Database, type_id: str, key: str) -> None:
    def tx(session: Session) -> None:
        row = _rows.type_row(session, type_id)
        _refuse_if_in_use(session, type_id)
        spec = session.get(models.VolumeTypeExtraSpec, (type_id, key))
        if spec is None:
            raise exception.VolumeTypeExtraSpecsNotFound(
                volume_type_id=type_id, extra_specs_key=key
            )
        session.delete(spec)
        row.updated_at = utcnow()

    db.write(tx)


# -- access ---------------------------------------------------------------------------------
def access_list(db: Database, type_id: str) -> list[str]:
    """Projects a private type is shared with (NotFound for a public type)."""
    with db.reader() as session:
        row = _rows.type_row(session, type_id)
        if row.is_public:
            raise exception.NotFound("Access list not available for public volume types.")
        return list(
            session.scalars(
                select(models.VolumeTypeProject.project_id)
                .where(models.VolumeTypeProject.volume_type_id == type_id)
                .order_by(models.VolumeTypeProject.project_id)
            )
        )


def add_access(db: Database, type_id: str, project_id: str) -> None:
    def tx(session: Session) -> None:
        row = _rows.type_row(session, type_id)
        if row.is_public:
            raise exception.Invalid("Invalid volume type: Type access modification is not "
                                    "applicable to public volume type.")  # fmt: skip
        if session.get(models.VolumeTypeProject, (type_id, project_id)) is not None:
            raise exception.VolumeTypeAccessExists(volume_type_id=type_id, project_id=project_id)
        session.add(models.VolumeTypeProject(volume_type_id=type_id, project_id=project_id))

    db.write(tx)


def remove_access(db: Database, type_id: str, project_id: str) -> None:
    def tx(session: Session) -> None:
        row = _rows.type_row(session, type_id)
        if row.is_public:
            raise exception.Invalid("Invalid volume type: Type access modification is not "
                                    "applicable to public volume type.")  # fmt: skip
        found = session.execute(
            delete(models.VolumeTypeProject).where(
                models.VolumeTypeProject.volume_type_id == type_id,
                models.VolumeTypeProject.project_id == project_id,
            )
        )
        if not found.rowcount:  # type: ignore[attr-defined]
            raise exception.VolumeTypeAccessNotFound(volume_type_id=type_id, project_id=project_id)

    db.write(tx)
