"""QoS specs: named sets of limits for a consumer (``front-end``: compute applies them as
QEMU throttles; ``back-end``: the driver; ``both``), associated with volume types."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models
from tinystack.volume.services.records import QoSSpecsRecord

CONSUMERS = ("front-end", "back-end", "both")


@dataclass(frozen=True, slots=True)
class Association:
    association_type: str
    name: str
    id: str


def _record(row: models.QualityOfServiceSpecs) -> QoSSpecsRecord:
    return QoSSpecsRecord(
        id=row.id,
        name=row.name,
        consumer=row.consumer,
        specs=dict(row.specs or {}),
        created_at=row.created_at,
    )


def _row(session: Session, specs_id: str) -> models.QualityOfServiceSpecs:
    row = session.get(models.QualityOfServiceSpecs, specs_id)
    if row is None:
        raise exception.QoSSpecsNotFound(specs_id=specs_id)
    return row


def list_specs(
    db: Database,
    *,
    sort: list[tuple[str, str]],
    limit: int | None,
    marker: str | None,
    offset: int = 0,
) -> list[QoSSpecsRecord]:
    with db.reader() as session:
        rows = list(session.scalars(select(models.QualityOfServiceSpecs)))
    for key, direction in reversed(sort):
        if key not in ("id", "name", "consumer", "created_at"):
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
    return [_record(r) for r in rows]


def get(db: Database, specs_id: str) -> QoSSpecsRecord:
    with db.reader() as session:
        return _record(_row(session, specs_id))


def create(db: Database, name: str, consumer: str, specs: dict[str, str]) -> QoSSpecsRecord:
    if consumer not in CONSUMERS:
        raise exception.InvalidQoSSpecs(
            reason=f"Consumer {consumer} is not valid: choose among {', '.join(CONSUMERS)}."
        )

    def tx(session: Session) -> QoSSpecsRecord:
        taken = session.scalars(
            select(models.QualityOfServiceSpecs.id).where(models.QualityOfServiceSpecs.name == name)
        ).first()
        if taken is not None:
            raise exception.QoSSpecsExists(specs_id=name)
        row = models.QualityOfServiceSpecs(
            id=str(uuid.uuid4()), name=name, consumer=consumer, specs=specs, created_at=utcnow()
        )
        session.add(row)
        session.flush()
        return _record(row)

    return db.write(tx)


def set_keys(db: Database, specs_id: str, specs: dict[str, str]) -> dict[str, str]:
    """Add or change keys (``consumer`` changes the consumer)."""

    def tx(session: Session) -> dict[str, str]:
        row = _row(session, specs_id)
        changes = dict(specs)
        consumer = changes.pop("consumer", None)
        if consumer is not None:
            if consumer not in CONSUMERS:
                raise exception.InvalidQoSSpecs(reason=f"Consumer {consumer} is not valid.")
            row.consumer = consumer
        row.specs = {**(row.specs or {}), **changes}
        row.updated_at = utcnow()
        return specs

    return db.write(tx)


def delete_keys(db: Database, specs_id: str, keys: list[str]) -> None:
    def tx(session: Session) -> None:
        row = _row(session, specs_id)
        current = dict(row.specs or {})
        for key in keys:
            if key not in current:
                raise exception.QoSSpecsKeyNotFound(specs_id=specs_id, specs_key=key)
            del current[key]
        row.specs = current
        row.updated_at = utcnow()

    db.write(tx)


def _associated(session: Session, specs_id: str) -> list[models.VolumeType]:
    return list(
        session.scalars(select(models.VolumeType).where(models.VolumeType.qos_specs_id == specs_id))
    )


def destroy(db: Database, specs_id: str, force: bool) -> None:
    def tx(session: Session) -> None:
        row = _row(session, specs_id)
        types = _associated(session, specs_id)
        if types and not force:
            raise exception.Invalid("Qos specs still in use.")
        for vtype in types:
            vtype.qos_specs_id = None
        session.delete(row)

    db.write(tx)


def associations(db: Database, specs_id: str) -> list[Association]:
    with db.reader() as session:
        _row(session, specs_id)
        return [Association("volume_type", t.name, t.id) for t in _associated(session, specs_id)]


def associate(db: Database, specs_id: str, type_id: str) -> None:
    def tx(session: Session) -> None:
        _row(session, specs_id)
        vtype = session.get(models.VolumeType, type_id)
        if vtype is None:
            raise exception.VolumeTypeNotFound(volume_type_id=type_id)
        if vtype.qos_specs_id and vtype.qos_specs_id != specs_id:
            raise exception.Invalid(
                f"Type {type_id} is already associated with another qos specs: {vtype.qos_specs_id}"
            )
        vtype.qos_specs_id = specs_id
        vtype.updated_at = utcnow()

    db.write(tx)


def disassociate(db: Database, specs_id: str, type_id: str | None) -> None:
    """Undo one type's association (None: every type's)."""

    def tx(session: Session) -> None:
        _row(session, specs_id)
        if type_id is None:
            session.execute(
                update(models.VolumeType)
                .where(models.VolumeType.qos_specs_id == specs_id)
                .values(qos_specs_id=None)
            )
            return
        vtype = session.get(models.VolumeType, type_id)
        if vtype is None:
            raise exception.VolumeTypeNotFound(volume_type_id=type_id)
        if vtype.qos_specs_id == specs_id:
            vtype.qos_specs_id = None
            vtype.updated_at = utcnow()

    db.write(tx)
