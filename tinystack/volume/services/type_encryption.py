"""Volume type encryption specs (``/types/{id}/encryption``): provider, cipher, key size
and control location, one set per type.

As upstream, the specs of a type cannot be created, changed or removed while volumes of
the type exist. This cloud has no key manager, so volumes of an encrypted type are
refused (:func:`refuse_encrypted`) rather than created unencrypted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models
from tinystack.volume.services import _rows, volume_types

__all__ = [
    "EncryptionChanges", "EncryptionRecord", "create", "delete", "get", "is_encrypted",
    "refuse_encrypted", "update",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class EncryptionRecord:
    encryption_id: str
    volume_type_id: str
    provider: str
    cipher: str | None
    key_size: int | None
    control_location: str
    created_at: datetime
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class EncryptionChanges:
    """What a request sets; ``fields`` names the keys it carried (a None value clears
    ``cipher`` or ``key_size``)."""

    fields: frozenset[str]
    provider: str | None = None
    cipher: str | None = None
    key_size: int | None = None
    control_location: str | None = None


def _record(row: models.Encryption) -> EncryptionRecord:
    return EncryptionRecord(
        encryption_id=row.encryption_id,
        volume_type_id=row.volume_type_id,
        provider=row.provider,
        cipher=row.cipher,
        key_size=row.key_size,
        control_location=row.control_location,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _row(session: Session, type_id: str) -> models.Encryption | None:
    return session.scalars(
        select(models.Encryption).where(models.Encryption.volume_type_id == type_id)
    ).first()


def is_encrypted(session: Session, type_id: str | None) -> bool:
    return type_id is not None and _row(session, type_id) is not None


def refuse_encrypted(session: Session, type_id: str | None) -> None:
    """Volumes of encrypted types need a key manager for their keys; none here."""
    if is_encrypted(session, type_id):
        raise exception.KeyManagerError()


def _unused(session: Session, type_id: str, verb: str) -> None:
    _rows.type_row(session, type_id)
    if volume_types.in_use(session, type_id):
        raise exception.Invalid(f"Cannot {verb} encryption specs. Volume type in use.")


def get(db: Database, type_id: str) -> EncryptionRecord | None:
    """The type's specs; None if it has none (VolumeTypeNotFound for no type)."""
    with db.reader() as session:
        _rows.type_row(session, type_id)
        row = _row(session, type_id)
        return None if row is None else _record(row)


def create(db: Database, type_id: str, changes: EncryptionChanges) -> EncryptionRecord:
    def tx(session: Session) -> EncryptionRecord:
        _unused(session, type_id, "create")
        if _row(session, type_id) is not None:
            raise exception.VolumeTypeEncryptionExists(type_id=type_id)
        row = models.Encryption(
            encryption_id=str(uuid.uuid4()),
            volume_type_id=type_id,
            provider=changes.provider or "",
            cipher=changes.cipher,
            key_size=changes.key_size,
            control_location=changes.control_location or "front-end",
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        return _record(row)

    return db.write(tx)


def update(db: Database, type_id: str, changes: EncryptionChanges) -> EncryptionRecord:
    def tx(session: Session) -> EncryptionRecord:
        _unused(session, type_id, "update")
        row = _row(session, type_id)
        if row is None:
            raise exception.VolumeTypeEncryptionNotFound(type_id=type_id)
        if "provider" in changes.fields and changes.provider is not None:
            row.provider = changes.provider
        if "control_location" in changes.fields and changes.control_location is not None:
            row.control_location = changes.control_location
        if "cipher" in changes.fields:
            row.cipher = changes.cipher
        if "key_size" in changes.fields:
            row.key_size = changes.key_size
        row.updated_at = utcnow()
        return _record(row)

    return db.write(tx)


def delete(db: Database, type_id: str) -> None:
    def tx(session: Session) -> None:
        _unused(session, type_id, "delete")
        row = _row(session, type_id)
        if row is None:
            raise exception.VolumeTypeEncryptionNotFound(type_id=type_id)
        session.delete(row)

    db.write(tx)
