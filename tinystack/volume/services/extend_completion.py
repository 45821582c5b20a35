"""An extend that waits for compute (``os-extend_volume_completion``, 3.71).

A file held by a running QEMU cannot be grown by the storage side: only that QEMU can
(``block_resize``). The driver says so (``GuestMustResize``); with the volume attached
to exactly one server the manager then keeps the volume ``extending``, records the new
size and the quota reservations in its admin metadata (``extend_new_size``, shown in the
volume's ``metadata`` so compute can read it, and ``extend_reservations``) and sends
``volume-extended``. Compute grows the guest's disk and answers with the completion
action: ``error`` false commits the quota and the new size (back to ``in-use``), true
rolls both back (``error_extending`` with a user message). Compute not told (no compute,
an unknown server, an older compute refusing the event), a volume attached to several
servers or to none: rolled back at once, as upstream's spec says. An admin's
``os-reset_status`` of a waiting volume rolls its reservations back.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.db import Database
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models
from tinystack.volume.services import _rows, messages, quotas, volume_ops, workers
from tinystack.volume.services.deps import Deps

__all__ = [
    "NEW_SIZE",
    "RESERVATIONS",
    "RULE",
    "await_guest",
    "complete",
    "drop",
    "forget",
    "request",
    "waiting",
]
RULE = "volume_extension:volume_admin_actions:extend_volume_completion"
NEW_SIZE = "extend_new_size"
RESERVATIONS = "extend_reservations"


def await_guest(db: Database, volume_id: str, new_size: int, reservations: tuple[str, ...]) -> bool:
    """Keep the volume ``extending`` for compute's answer; False when it is no longer
    extending (nothing is recorded then)."""

    def tx(session: Session) -> bool:
        row = session.get(models.Volume, volume_id)
        if row is None or row.status != "extending":
            return False
        _set(session, volume_id, NEW_SIZE, str(new_size))
        _set(session, volume_id, RESERVATIONS, json.dumps(list(reservations)))
        row.updated_at = utcnow()
        return True

    return db.write(tx)


def waiting(db: Database, volume_id: str) -> bool:
    """Whether the volume's extend waits for compute's completion action."""
    with db.reader() as session:
        return session.get(models.VolumeAdminMetadata, (volume_id, NEW_SIZE)) is not None


def _set(session: Session, volume_id: str, key: str, value: str) -> None:
    item = session.get(models.VolumeAdminMetadata, (volume_id, key))
    if item is None:
        session.add(models.VolumeAdminMetadata(volume_id=volume_id, key=key, value=value))
    else:
        item.value = value


def _take(session: Session, volume_id: str) -> tuple[int, list[str]]:
    """The waiting extend's new size and reservations, removed from the admin metadata;
    InvalidVolume when they are missing or malformed."""
    items = {
        item.key: item
        for item in session.scalars(
            select(models.VolumeAdminMetadata).where(
                models.VolumeAdminMetadata.volume_id == volume_id,
                models.VolumeAdminMetadata.key.in_((NEW_SIZE, RESERVATIONS)),
            )
        )
    }
    try:
        new_size = int(items[NEW_SIZE].value or "")
        reservations = json.loads(items[RESERVATIONS].value or "")
    except (KeyError, ValueError):
        raise exception.InvalidVolume(
            reason="Required volume admin metadata is malformed or missing."
        ) from None
    if not isinstance(reservations, list):
        raise exception.InvalidVolume(
            reason="The stored quota reservations for extending the volume must be in a list "
            "format."
        )
    for item in items.values():
        session.delete(item)
    return new_size, [str(r) for r in reservations]


def _finish(
    session: Session, row: models.Volume, *, error: bool, request_id: str | None, ttl: int
) -> None:
    new_size, reservations = _take(session, row.id)
    if new_size <= row.size:
        raise exception.InvalidVolume(
            reason=f"The target volume size provided in volume admin metadata {new_size} is "
            "smaller or equal to the current volume size."
        )
    if error:
        quotas.rollback(session, tuple(reservations))
        volume_ops.fail(
            session, row, status="error_extending", action=messages.EXTEND_VOLUME,
            detail=messages.DRIVER_FAILED_EXTEND, request_id=request_id, ttl=ttl,
        )  # fmt: skip
        return
    quotas.commit(session, tuple(reservations))
    attached = session.scalar(
        select(models.VolumeAttachment.id).where(
            models.VolumeAttachment.volume_id == row.id,
            models.VolumeAttachment.attach_status == "attached",
        )
    )
    row.size = new_size
    row.status = "in-use" if attached else "available"
    row.updated_at = utcnow()
    workers.finish(session, "Volume", row.id)


def request(deps: Deps, ctx: RequestContext, volume_id: str, error: bool) -> None:
    """The completion action: the volume must be waiting for it (400 otherwise)."""

    def tx(session: Session) -> None:
        row = _rows.visible_volume_row(session, ctx, volume_id, lock=True)
        _rows.authorize_volume(ctx, RULE, row)
        if row.status != "extending":
            raise exception.InvalidVolume(reason="Volume is not being extended.")
        _finish(session, row, error=error, request_id=ctx.request_id, ttl=deps.opts.message_ttl)

    deps.db.write(tx)
    deps.changed(volume_id)


def complete(
    db: Database, volume_id: str, *, error: bool, request_id: str | None, ttl: int
) -> bool:
    """The manager's side (compute could not be told): settle the waiting extend; False
    when the volume no longer waits."""

    def tx(session: Session) -> bool:
        row = session.get(models.Volume, volume_id)
        if row is None or row.status != "extending":
            return False
        try:
            _finish(session, row, error=error, request_id=request_id, ttl=ttl)
        except exception.InvalidVolume:
            return False
        return True

    return db.write(tx)


def forget(session: Session, volume_id: str) -> None:
    """An admin reset the status of a waiting volume: its reservations are rolled back."""
    try:
        _, reservations = _take(session, volume_id)
    except exception.InvalidVolume:
        return
    quotas.rollback(session, tuple(reservations))


def drop(db: Database, volume_id: str) -> None:
    """The extend finished without compute's answer (a replay found the file grown): the
    waiting keys go, the reservations having been committed with the new size."""

    def tx(session: Session) -> None:
        for item in session.scalars(
            select(models.VolumeAdminMetadata).where(
                models.VolumeAdminMetadata.volume_id == volume_id,
                models.VolumeAdminMetadata.key.in_((NEW_SIZE, RESERVATIONS)),
            )
        ):
            session.delete(item)

    db.write(tx)
