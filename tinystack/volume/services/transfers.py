"""Volume transfers: offer a volume to another project (``awaiting-transfer``, an auth key
shown once), list and show the offers, take one back, and accept one as the other
project with the key.

The key is never stored: a transfer keeps a random salt and the HMAC-SHA1 of the key
under it, as upstream. Accepting moves the volume (and, unless the transfer says
``no_snapshots``, its snapshots) to the new project and moves their quota usage from
the donor to the recipient, all in one transaction: a recipient over quota gets 413 and
nothing moves.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.db import Database
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models
from tinystack.volume.conf import Options
from tinystack.volume.services import _rows, listing, quotas, snapshots

SALT_LENGTH = 8
KEY_LENGTH = 16


@dataclass(frozen=True, slots=True)
class TransferRecord:
    id: str
    volume_id: str
    name: str | None
    created_at: datetime
    no_snapshots: bool
    source_project_id: str | None
    destination_project_id: str | None
    accepted: bool
    #: only when just created: the key the recipient needs
    auth_key: str | None = None


def _record(row: models.Transfer, auth_key: str | None = None) -> TransferRecord:
    return TransferRecord(
        id=row.id,
        volume_id=row.volume_id,
        name=row.display_name,
        created_at=row.created_at,
        no_snapshots=row.no_snapshots,
        source_project_id=row.source_project_id,
        destination_project_id=row.destination_project_id,
        accepted=row.accepted,
        auth_key=auth_key,
    )


def random_string(length: int) -> str:
    """Hex digits only: what a recipient can type."""
    found = ""
    while len(found) < length:
        found += hashlib.sha224(os.urandom(255)).hexdigest()
    return found[:length]


def crypt_hash(salt: str, auth_key: str) -> str:
    return hmac.new(salt.encode(), auth_key.encode(), hashlib.sha1).hexdigest()


def _own(ctx: RequestContext) -> dict[str, str | None]:
    return {"project_id": ctx.project_id, "user_id": ctx.user_id}


def _row(session: Session, ctx: RequestContext, transfer_id: str) -> models.Transfer:
    """The transfer, if an admin asks or it offers one of the caller's volumes."""
    query = select(models.Transfer).where(models.Transfer.id == transfer_id)
    if not ctx.is_admin:
        query = query.join(models.Volume, models.Volume.id == models.Transfer.volume_id).where(
            models.Volume.project_id == (ctx.project_id or "")
        )
    found = session.scalars(query).first()
    if found is None:
        raise exception.TransferNotFound(transfer_id=transfer_id)
    return found


def create(
    db: Database, ctx: RequestContext, volume_id: str, name: str | None, *, no_snapshots: bool,
    allow_encrypted: bool,
) -> TransferRecord:  # fmt: skip
    """Offer the volume (it must be ``available``, its snapshots too unless
    ``no_snapshots``); the record carries the auth key, shown this once."""

    def tx(session: Session) -> TransferRecord:
        volume = _rows.volume_row(session, volume_id, lock=True)
        if not ctx.is_admin and volume.project_id != ctx.project_id:
            raise exception.VolumeNotFound(volume_id=volume_id)
        _rows.authorize_volume(ctx, "volume:create_transfer", volume)
        if volume.status != "available":
            raise exception.InvalidVolume(reason="status must be available")
        if volume.encryption_key_id is not None:
            if not allow_encrypted:
                raise exception.InvalidVolume(
                    reason="transferring encrypted volume is not supported"
                )
            if no_snapshots:
                raise exception.InvalidVolume(
                    reason="transferring an encrypted volume without its snapshots is not supported"
                )
        if not no_snapshots:
            for snap in _snapshots(session, volume_id):
                if snap.status != "available":
                    raise exception.InvalidSnapshot(
                        reason=f"snapshot: {snap.id} status must be available"
                    )
        salt = random_string(SALT_LENGTH)
        auth_key = random_string(KEY_LENGTH)
        row = models.Transfer(
            id=str(uuid.uuid4()),
            volume_id=volume_id,
            display_name=name,
            salt=salt,
            crypt_hash=crypt_hash(salt, auth_key),
            expires_at=None,
            source_project_id=volume.project_id,
            destination_project_id=None,
            accepted=False,
            no_snapshots=no_snapshots,
            created_at=utcnow(),
        )
        session.add(row)
        volume.status = "awaiting-transfer"
        volume.updated_at = utcnow()
        session.flush()
        return _record(row, auth_key)

    return db.write(tx)


def _snapshots(session: Session, volume_id: str) -> list[models.Snapshot]:
    return list(
        session.scalars(select(models.Snapshot).where(models.Snapshot.volume_id == volume_id))
    )


def get(db: Database, ctx: RequestContext, transfer_id: str) -> TransferRecord:
    ctx.can("volume:get_transfer", _own(ctx))
    with db.reader() as session:
        return _record(_row(session, ctx, transfer_id))


def _not_found(marker: str) -> Exception:
    return exception.TransferNotFound(transfer_id=marker)


TABLE = listing.Table(
    model=models.Transfer, not_found=_not_found, sort_aliases={"name": "display_name"}
)


def list_transfers(
    db: Database, ctx: RequestContext, wanted: listing.ListQuery
) -> list[TransferRecord]:
    """The offers of the caller's volumes (an admin's ``all_tenants``: every offer)."""
    ctx.can("volume:get_all_transfers", _own(ctx))
    with db.reader() as session:
        query: Select[tuple[models.Transfer]] = select(models.Transfer)
        if not wanted.all_tenants:
            volumes = select(models.Volume.id).where(
                models.Volume.project_id == (ctx.project_id or "")
            )
            query = query.where(models.Transfer.volume_id.in_(volumes))
        return [_record(row) for row in listing.page(session, query, TABLE, wanted)]


def delete(db: Database, ctx: RequestContext, transfer_id: str) -> None:
    """Take the offer back: the volume is ``available`` again."""

    def tx(session: Session) -> None:
        row = _row(session, ctx, transfer_id)
        volume = _rows.volume_row(session, row.volume_id, lock=True)
        _rows.authorize_volume(ctx, "volume:delete_transfer", volume)
        if volume.status == "awaiting-transfer":
            volume.status = "available"
            volume.updated_at = utcnow()
        session.delete(row)

    db.write(tx)


def accept(
    db: Database, opts: Options, ctx: RequestContext, transfer_id: str, auth_key: str
) -> TransferRecord:
    """Take the volume into the caller's project (400 for a wrong key, 413 over quota)."""
    ctx.can("volume:accept_transfer", _own(ctx))
    recipient = ctx.project_id or ""

    def tx(session: Session) -> TransferRecord:
        row = session.get(models.Transfer, transfer_id)
        if row is None:
            raise exception.TransferNotFound(transfer_id=transfer_id)
        if not hmac.compare_digest(crypt_hash(row.salt, auth_key), row.crypt_hash):
            raise exception.InvalidAuthKey(
                reason=f"Attempt to transfer {transfer_id} with invalid auth key."
            )
        volume = _rows.volume_row(session, row.volume_id, lock=True)
        if volume.consistencygroup_id:
            raise exception.InvalidVolume(
                reason=f"Volume {volume.id} must not be part of a consistency group."
            )
        if volume.status == "maintenance":
            raise exception.InvalidVolume(
                reason="The volume cannot accept transfer in maintenance mode."
            )
        if volume.status != "awaiting-transfer":
            raise exception.InvalidVolume(
                reason=f"Transfer {transfer_id}: Volume id {volume.id} expected in "
                "awaiting-transfer state."
            )
        _move(session, opts, row, volume, recipient, ctx.user_id or "")
        record = _record(row)
        session.delete(row)
        return record

    return db.write(tx)


def _move(
    session: Session,
    opts: Options,
    row: models.Transfer,
    volume: models.Volume,
    recipient: str,
    user_id: str,
) -> None:
    """The volume (and its snapshots) and their quota usage to ``recipient``."""
    donor = volume.project_id
    kind = snapshots.type_name(session, volume.volume_type_id)
    quotas.check_size_limit(session, opts, recipient, volume.size)
    moving = [] if row.no_snapshots else _snapshots(session, volume.id)
    for snap in moving:
        if snap.status != "available":
            raise exception.InvalidSnapshot(
                reason=f"Transfer {row.id}: Snapshot {snap.id} is not in the expected "
                "available state."
            )
    gained = quotas.volume_deltas(volume.size, kind) if volume.use_quota else {}
    for snap in moving:
        if snap.use_quota:
            for key, value in snapshots.deltas(snap.volume_size, kind).items():
                gained[key] = gained.get(key, 0) + value
    if gained:
        quotas.consume(session, opts, recipient, gained)
        quotas.release(session, donor, gained)
    now = utcnow()
    volume.project_id = recipient
    volume.user_id = user_id
    volume.status = "available"
    volume.updated_at = now
    for snap in moving:
        snap.project_id = recipient
        snap.user_id = user_id
        snap.updated_at = now
    row.destination_project_id = recipient
    row.accepted = True
