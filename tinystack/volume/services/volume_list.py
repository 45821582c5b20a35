"""Volume lists (``/volumes``, ``/volumes/detail``) and the summary (3.12): filters,
sorting, marker/limit/offset paging, counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.volume import exception, models
from tinystack.volume.services import _rows
from tinystack.volume.services.records import VolumeRecord

#: API sort keys -> columns
SORT_KEYS = {
    "id": models.Volume.id,
    "name": models.Volume.display_name,
    "display_name": models.Volume.display_name,
    "description": models.Volume.display_description,
    "size": models.Volume.size,
    "status": models.Volume.status,
    "created_at": models.Volume.created_at,
    "updated_at": models.Volume.updated_at,
    "availability_zone": models.Volume.availability_zone,
    "bootable": models.Volume.bootable,
    "volume_type_id": models.Volume.volume_type_id,
    "project_id": models.Volume.project_id,
    "user_id": models.Volume.user_id,
    "host": models.Volume.host,
}
#: filters on a column by equality (the value as sent, or parsed)
COLUMN_FILTERS = {
    "status": models.Volume.status,
    "availability_zone": models.Volume.availability_zone,
    "migration_status": models.Volume.migration_status,
    "group_id": models.Volume.group_id,
    "size": models.Volume.size,
    "host": models.Volume.host,
    "user_id": models.Volume.user_id,
    "volume_type_id": models.Volume.volume_type_id,
    "snapshot_id": models.Volume.snapshot_id,
    "source_volid": models.Volume.source_volid,
    "replication_status": models.Volume.replication_status,
    "consistencygroup_id": models.Volume.consistencygroup_id,
    "attach_status": models.Volume.attach_status,
}
TIME_OPERATORS = ("gt", "gte", "eq", "neq", "lt", "lte")


@dataclass(frozen=True, slots=True)
class VolumeQuery:
    """A list request: who asks and what they filter, sort and page by."""

    #: the project whose volumes are listed; None: every project (admins, all_tenants)
    project_id: str | None
    name: str | None = None
    #: ``name~`` (3.34): a substring of the name
    name_like: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    image_metadata: dict[str, str] = field(default_factory=dict)
    bootable: bool | None = None
    volume_type: str | None = None
    #: created_at / updated_at -> [(operator, time)] (3.60)
    times: dict[str, list[tuple[str, datetime]]] = field(default_factory=dict)
    sort: list[tuple[str, str]] = field(default_factory=lambda: [("created_at", "desc")])
    limit: int | None = None
    marker: str | None = None
    offset: int = 0


def _filtered(session: Session, query: Select[Any], q: VolumeQuery) -> Select[Any]:
    vol = models.Volume
    if q.project_id is not None:
        query = query.where(vol.project_id == q.project_id)
    if q.name is not None:
        query = query.where(vol.display_name == q.name)
    if q.name_like is not None:
        query = query.where(vol.display_name.contains(q.name_like))
    for key, value in q.columns.items():
        column = COLUMN_FILTERS[key]
        if key == "size":
            try:
                query = query.where(column == int(value))
            except ValueError:
                raise exception.InvalidInput(reason=f"Invalid size filter {value}") from None
        else:
            query = query.where(column == value)
    if q.bootable is not None:
        query = query.where(vol.bootable.is_(q.bootable))
    if q.volume_type is not None:
        type_ids = select(models.VolumeType.id).where(models.VolumeType.name == q.volume_type)
        query = query.where(
            (vol.volume_type_id == q.volume_type) | vol.volume_type_id.in_(type_ids)
        )
    for key, value in q.metadata.items():
        meta = select(models.VolumeMetadata.volume_id).where(
            and_(models.VolumeMetadata.key == key, models.VolumeMetadata.value == value)
        )
        query = query.where(vol.id.in_(meta))
    for key, value in q.image_metadata.items():
        image = select(models.VolumeGlanceMetadata.volume_id).where(
            and_(models.VolumeGlanceMetadata.key == key, models.VolumeGlanceMetadata.value == value)
        )
        query = query.where(vol.id.in_(image))
    for name, comparisons in q.times.items():
        stamp = vol.created_at if name == "created_at" else vol.updated_at
        for op, when in comparisons:
            query = query.where(
                {
                    "gt": stamp > when, "gte": stamp >= when, "eq": stamp == when,
                    "neq": stamp != when, "lt": stamp < when, "lte": stamp <= when,
                }[op]
            )  # fmt: skip
    del session
    return query


def _ordered(query: Select[Any], sort: list[tuple[str, str]]) -> Select[Any]:
    keys = list(sort)
    if not any(key == "id" for key, _ in keys):
        keys.append(("id", keys[-1][1] if keys else "desc"))
    for key, direction in keys:
        column = SORT_KEYS.get(key)
        if column is None:
            raise exception.InvalidInput(reason=f"Invalid sort key {key}")
        query = query.order_by(column.desc() if direction == "desc" else column.asc())
    return query


def list_volumes(
    db: Database, q: VolumeQuery, *, count: bool = False
) -> tuple[list[VolumeRecord], int | None]:
    """The page of volumes ``q`` asks for, and (``count``) how many match in all."""
    with db.reader() as session:
        base = _filtered(session, select(models.Volume), q)
        total = None
        if count:
            total = int(session.scalar(select(func.count()).select_from(base.subquery())) or 0)
        rows = list(session.scalars(_ordered(base, q.sort)))
        if q.marker is not None:
            ids = [row.id for row in rows]
            if q.marker not in ids:
                raise exception.NotFound(f"Marker {q.marker} could not be found.")
            rows = rows[ids.index(q.marker) + 1 :]
        rows = rows[q.offset :]
        if q.limit is not None:
            rows = rows[: q.limit]
        return _rows.volume_records(session, rows), total


@dataclass(frozen=True, slots=True)
class Summary:
    total_count: int
    total_size: int
    #: every distinct metadata value per key (3.36)
    metadata: dict[str, list[str]]


def summary(db: Database, q: VolumeQuery) -> Summary:
    with db.reader() as session:
        base = _filtered(session, select(models.Volume), q).subquery()
        count, size = session.execute(
            select(func.count(), func.coalesce(func.sum(base.c.size), 0))
        ).one()
        meta: dict[str, list[str]] = {}
        pairs = session.execute(
            select(models.VolumeMetadata.key, models.VolumeMetadata.value)
            .where(models.VolumeMetadata.volume_id.in_(select(base.c.id)))
            .distinct()
            .order_by(models.VolumeMetadata.key, models.VolumeMetadata.value)
        )
        for key, value in pairs:
            meta.setdefault(key, []).append(value)
        return Summary(int(count), int(size), meta)
