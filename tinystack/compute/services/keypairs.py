"""Key pairs: import (ssh or x509), generation (before 2.92), fingerprints, quota."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common.api import pagination as pg
from tinystack.common.db import Database
from tinystack.common.exceptions import BadRequest, Conflict
from tinystack.common.timeutils import utcnow
from tinystack.compute import exception, models
from tinystack.compute.conf import Options
from tinystack.compute.services import quotas


def _invalid(reason: str) -> BadRequest:
    return BadRequest(f"Keypair data is invalid: {reason}")


def fingerprint(public_key: str, key_type: str) -> str:
    if key_type == "x509":
        try:
            cert = x509.load_pem_x509_certificate(public_key.encode())
        except ValueError:
            raise _invalid("failed to generate fingerprint") from None
        digest = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
        return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
    parts = public_key.strip().split()
    if len(parts) < 2:
        raise _invalid("failed to generate fingerprint")
    try:
        blob = base64.b64decode(parts[1], validate=True)
        serialization.load_ssh_public_key(public_key.strip().encode())
    except (binascii.Error, ValueError, TypeError):
        raise _invalid("failed to generate fingerprint") from None
    digest = hashlib.md5(blob).hexdigest()  # upstream's fingerprint format
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def generate(key_type: str) -> tuple[str, str]:
    """(private key, public key) for a new ssh or x509 key pair."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    if key_type == "x509":
        import datetime as dt

        from cryptography.hazmat.primitives import hashes
        from cryptography.x509.oid import NameOID

        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tinystack")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        return private, cert.public_bytes(serialization.Encoding.PEM).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return private, public + " Generated-by-Nova"


@dataclass(frozen=True, slots=True)
class KeyPairRecord:
    id: int
    name: str
    user_id: str
    fingerprint: str
    public_key: str
    type: str
    created_at: datetime
    updated_at: datetime | None


def _record(row: models.KeyPair) -> KeyPairRecord:
    return KeyPairRecord(
        id=row.id,
        name=row.name,
        user_id=row.user_id,
        fingerprint=row.fingerprint,
        public_key=row.public_key,
        type=row.type,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def create(
    db: Database,
    opts: Options,
    *,
    user_id: str,
    project_id: str,
    name: str,
    key_type: str,
    public_key: str | None,
) -> tuple[KeyPairRecord, str | None]:
    private = None
    if public_key is None:
        private, public_key = generate(key_type)
    fp = fingerprint(public_key, key_type)

    def write(session: Session) -> KeyPairRecord:
        quotas.check_simple(session, opts, project_id, user_id, "key_pairs")
        exists = session.scalars(
            select(models.KeyPair).where(
                models.KeyPair.user_id == user_id, models.KeyPair.name == name
            )
        ).first()
        if exists is not None:
            raise Conflict(f"Key pair '{name}' already exists.")
        row = models.KeyPair(
            name=name,
            user_id=user_id,
            fingerprint=fp,
            public_key=public_key,
            type=key_type,
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        return _record(row)

    try:
        return db.write(write), private
    except IntegrityError:
        raise Conflict(f"Key pair '{name}' already exists.") from None


def get(db: Database, user_id: str, name: str) -> KeyPairRecord:
    with db.reader() as session:
        found = session.scalars(
            select(models.KeyPair).where(
                models.KeyPair.user_id == user_id, models.KeyPair.name == name
            )
        ).first()
    if found is None:
        raise exception.KeypairNotFound(name, user_id)
    return _record(found)


def list_for(
    db: Database, user_id: str, *, limit: int | None = None, marker: str | None = None
) -> list[KeyPairRecord]:
    with db.reader() as session:
        rows = [
            _record(row)
            for row in session.scalars(
                select(models.KeyPair)
                .where(models.KeyPair.user_id == user_id)
                .order_by(models.KeyPair.name)
            )
        ]
    if marker is not None:
        names = [r.name for r in rows]
        if marker not in names:
            raise pg.marker_not_found(marker)
        rows = rows[names.index(marker) + 1 :]
    return rows[:limit] if limit is not None else rows


def delete(db: Database, user_id: str, name: str) -> None:
    def write(session: Session) -> None:
        found = session.scalars(
            select(models.KeyPair).where(
                models.KeyPair.user_id == user_id, models.KeyPair.name == name
            )
        ).first()
        if found is None:
            raise exception.KeypairNotFound(name, user_id)
        session.delete(found)

    db.write(write)
