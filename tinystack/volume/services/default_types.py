"""Per-project default volume types (3.62): the type a project's volumes get when the
request names none."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models
from tinystack.volume.services import _rows
from tinystack.volume.services._rows import Viewer


@dataclass(frozen=True, slots=True)
class DefaultType:
    project_id: str
    volume_type_id: str


def set_default(db: Database, project_id: str, type_name_or_id: str) -> DefaultType:
    def tx(session: Session) -> DefaultType:
        vtype = _rows.find_type_row(session, type_name_or_id, Viewer(None, True))
        row = session.get(models.DefaultVolumeType, project_id)
        if row is None:
            row = models.DefaultVolumeType(
                project_id=project_id, volume_type_id=vtype.id, created_at=utcnow()
            )
            session.add(row)
        else:
            row.volume_type_id = vtype.id
        return DefaultType(project_id, vtype.id)

    return db.write(tx)


def get(db: Database, project_id: str) -> DefaultType:
    with db.reader() as session:
        row = session.get(models.DefaultVolumeType, project_id)
        if row is None:
            raise exception.VolumeTypeProjectDefaultNotFound(project_id=project_id)
        return DefaultType(row.project_id, row.volume_type_id)


def list_defaults(db: Database) -> list[DefaultType]:
    with db.reader() as session:
        return [
            DefaultType(row.project_id, row.volume_type_id)
            for row in session.scalars(
                select(models.DefaultVolumeType).order_by(models.DefaultVolumeType.project_id)
            )
        ]


def unset(db: Database, project_id: str) -> None:
    def tx(session: Session) -> None:
        row = session.get(models.DefaultVolumeType, project_id)
        if row is not None:
            session.delete(row)

    db.write(tx)
