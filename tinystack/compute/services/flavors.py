"""Flavors: lookup with project access, admin create/update/delete, extra specs, access lists."""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.common.exceptions import BadRequest, Conflict, NotFound
from tinystack.common.timeutils import utcnow
from tinystack.compute import exception, models
from tinystack.compute.objects import FlavorMeta
from tinystack.compute.services.records import from_row

#: (flavorid, name, vcpus, memory_mb, root_gb), as devstack creates them
DEFAULT_FLAVORS = [
    ("1", "m1.tiny", 1, 512, 1),
    ("2", "m1.small", 1, 2048, 20),
    ("3", "m1.medium", 2, 4096, 40),
    ("4", "m1.large", 4, 8192, 80),
    ("5", "m1.xlarge", 8, 16384, 160),
    ("42", "m1.nano", 1, 128, 1),
]


@dataclass(frozen=True)
class Viewer:
    """Who is looking: admins see private flavors, others those shared with their project."""

    project_id: str | None
    is_admin: bool


@dataclass(frozen=True, slots=True)
class FlavorRecord:
    id: int
    flavorid: str
    name: str
    memory_mb: int
    vcpus: int
    root_gb: int
    ephemeral_gb: int
    swap: int
    rxtx_factor: float
    vcpu_weight: int | None
    disabled: bool
    is_public: bool
    description: str | None
    extra_specs: dict[str, str]
    created_at: datetime
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class FlavorSpec:
    """A new flavor (``flavorid`` None or "auto": a generated UUID)."""

    name: str
    flavorid: str | None
    vcpus: int
    memory_mb: int
    root_gb: int
    ephemeral_gb: int
    swap: int
    rxtx_factor: float
    is_public: bool
    description: str | None


def snapshot(flavor: FlavorRecord) -> FlavorMeta:
    """The flavor as copied into an instance (it survives the flavor's deletion; the
    instance stores ``snapshot(flavor).to_dict()``)."""
    return FlavorMeta(
        id=flavor.id,
        flavorid=flavor.flavorid,
        name=flavor.name,
        vcpus=flavor.vcpus,
        memory_mb=flavor.memory_mb,
        root_gb=flavor.root_gb,
        ephemeral_gb=flavor.ephemeral_gb,
        swap=flavor.swap,
        rxtx_factor=flavor.rxtx_factor,
        vcpu_weight=flavor.vcpu_weight,
        is_public=flavor.is_public,
        disabled=flavor.disabled,
        description=flavor.description,
        extra_specs=dict(flavor.extra_specs or {}),
    )


def bootstrap(db: Database) -> None:
    def write(session: Session) -> None:
        existing = set(session.scalars(select(models.Flavor.name)))
        ids = set(session.scalars(select(models.Flavor.flavorid)))
        for flavorid, name, vcpus, ram, disk in DEFAULT_FLAVORS:
            if name in existing or flavorid in ids:
                continue
            session.add(
                models.Flavor(
                    flavorid=flavorid,
                    name=name,
                    vcpus=vcpus,
                    memory_mb=ram,
                    root_gb=disk,
                    created_at=utcnow(),
                    extra_specs={},
                )
            )

    db.write(write)


def _visible(session: Session, flavor: models.Flavor, viewer: Viewer) -> bool:
    if flavor.is_public or viewer.is_admin:
        return True
    found = session.get(models.FlavorProject, (flavor.id, viewer.project_id or ""))
    return found is not None


def _load(session: Session, flavorid: str, viewer: Viewer | None = None) -> models.Flavor:
    flavor = session.scalars(
        select(models.Flavor).where(models.Flavor.flavorid == flavorid)
    ).first()
    if flavor is None or (viewer is not None and not _visible(session, flavor, viewer)):
        raise exception.FlavorNotFound(flavorid)
    return flavor


def get(db: Database, flavorid: str, viewer: Viewer | None = None) -> FlavorRecord:
    with db.reader() as session:
        return from_row(FlavorRecord, _load(session, flavorid, viewer))


def get_by_id(db: Database, internal_id: int) -> FlavorRecord | None:
    with db.reader() as session:
        found = session.get(models.Flavor, internal_id)
        return None if found is None else from_row(FlavorRecord, found)


def list_flavors(
    db: Database,
    viewer: Viewer,
    *,
    is_public: bool | None = True,
    min_ram: int | None = None,
    min_disk: int | None = None,
    name: str | None = None,
    sort_key: str = "flavorid",
    sort_dir: str = "asc",
    limit: int | None = None,
    marker: str | None = None,
) -> list[FlavorRecord]:
    """Flavors visible to ``viewer``; ``is_public`` None means public and private."""
    table = models.Flavor
    with db.reader() as session:
        query = select(table)
        if min_ram is not None:
            query = query.where(table.memory_mb >= min_ram)
        if min_disk is not None:
            query = query.where(table.root_gb >= min_disk)
        if name is not None:
            query = query.where(table.name == name)
        if is_public is not None:
            query = query.where(table.is_public.is_(is_public))
        if not viewer.is_admin:
            shared = select(models.FlavorProject.flavor_id).where(
                models.FlavorProject.project_id == (viewer.project_id or "")
            )
            query = query.where(table.is_public.is_(True) | table.id.in_(shared))
        column = getattr(table, sort_key)
        order = column.desc() if sort_dir == "desc" else column.asc()
        rows = [
            from_row(FlavorRecord, row)
            for row in session.scalars(query.order_by(order, table.id.asc()))
        ]
    if marker is not None:
        ids = [f.flavorid for f in rows]
        if marker not in ids:
            raise BadRequest(f"marker [{marker}] not found")
        rows = rows[ids.index(marker) + 1 :]
    return rows[:limit] if limit is not None else rows


def create(db: Database, spec: FlavorSpec) -> FlavorRecord:
    flavorid = spec.flavorid
    if flavorid in (None, "auto"):
        flavorid = str(uuidlib.uuid4())

    def write(session: Session) -> FlavorRecord:
        if session.scalars(select(models.Flavor).where(models.Flavor.name == spec.name)).first():
            raise Conflict(f"Flavor with name {spec.name} already exists.")
        if session.scalars(select(models.Flavor).where(models.Flavor.flavorid == flavorid)).first():
            raise Conflict(f"Flavor with ID {flavorid} already exists.")
        flavor = models.Flavor(
            flavorid=str(flavorid),
            name=spec.name,
            vcpus=spec.vcpus,
            memory_mb=spec.memory_mb,
            root_gb=spec.root_gb,
            ephemeral_gb=spec.ephemeral_gb,
            swap=spec.swap,
            rxtx_factor=spec.rxtx_factor,
            is_public=spec.is_public,
            description=spec.description,
            created_at=utcnow(),
            extra_specs={},
        )
        session.add(flavor)
        session.flush()
        return from_row(FlavorRecord, flavor)

    try:
        return db.write(write)
    except IntegrityError:
        raise Conflict(f"Flavor with name {spec.name} already exists.") from None


def update_description(db: Database, flavorid: str, description: str | None) -> FlavorRecord:
    def write(session: Session) -> FlavorRecord:
        flavor = _load(session, flavorid)
        flavor.description = description
        flavor.updated_at = utcnow()
        return from_row(FlavorRecord, flavor)

    return db.write(write)


def destroy(db: Database, flavorid: str) -> None:
    def write(session: Session) -> None:
        flavor = _load(session, flavorid)
        session.execute(
            delete(models.FlavorProject).where(models.FlavorProject.flavor_id == flavor.id)
        )
        session.delete(flavor)

    db.write(write)


# -- extra specs ------------------------------------------------------------------------------
def set_extra_specs(db: Database, flavorid: str, specs: dict[str, str]) -> dict[str, str]:
    def write(session: Session) -> dict[str, str]:
        flavor = _load(session, flavorid)
        merged = {**(flavor.extra_specs or {}), **specs}
        flavor.extra_specs = merged
        flavor.updated_at = utcnow()
        return merged

    return db.write(write)


def delete_extra_spec(db: Database, flavorid: str, key: str) -> None:
    def write(session: Session) -> None:
        flavor = _load(session, flavorid)
        specs = dict(flavor.extra_specs or {})
        if key not in specs:
            raise NotFound(f"Flavor {flavorid} has no extra specs with key {key}.")
        del specs[key]
        flavor.extra_specs = specs

    db.write(write)


# -- access lists -----------------------------------------------------------------------------
def access_list(db: Database, flavorid: str) -> list[tuple[str, str]]:
    with db.reader() as session:
        flavor = _load(session, flavorid)
        if flavor.is_public:
            raise NotFound("Access list not available for public flavors.")
        rows = session.scalars(
            select(models.FlavorProject.project_id).where(
                models.FlavorProject.flavor_id == flavor.id
            )
        )
        return [(flavor.flavorid, p) for p in rows]


def add_access(db: Database, flavorid: str, project_id: str, *, check_public: bool) -> None:
    def write(session: Session) -> None:
        flavor = _load(session, flavorid)
        if check_public and flavor.is_public:
            raise Conflict("Can not add access to a public flavor.")
        if session.get(models.FlavorProject, (flavor.id, project_id)) is not None:
            raise Conflict(
                f"Flavor access already exists for flavor {flavorid} and project "
                f"{project_id} combination."
            )
        session.add(models.FlavorProject(flavor_id=flavor.id, project_id=project_id))

    db.write(write)


def remove_access(db: Database, flavorid: str, project_id: str) -> None:
    def write(session: Session) -> None:
        flavor = _load(session, flavorid)
        found = session.get(models.FlavorProject, (flavor.id, project_id))
        if found is None:
            raise NotFound(f"Flavor access not found for {flavorid} / {project_id} combination.")
        session.delete(found)

    db.write(write)
