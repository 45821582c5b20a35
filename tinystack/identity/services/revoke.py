"""Persisted revocation events, mirrored into the in-memory list every validator checks."""

from __future__ import annotations

import time

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tinystack.common.auth.revocation import MATCH_FIELDS, RevocationEvent
from tinystack.identity import models
from tinystack.identity.services.deps import Deps

FIELDS = MATCH_FIELDS


def record(session: Session, **fields: str | None) -> RevocationEvent:
    """Add an event in the caller's transaction; :func:`publish` it after commit."""
    now = time.time()
    row = models.RevocationEvent(issued_before=now, revoked_at=now, **fields)
    session.add(row)
    return RevocationEvent(issued_before=now, revoked_at=now, **fields)


def publish(deps: Deps, events: list[RevocationEvent]) -> None:
    for event in events:
        deps.revocations.add(event)
    if events:
        deps.clear_caches()


def revoke(deps: Deps, **fields: str | None) -> None:
    event = deps.db.write(lambda s: record(s, **fields))
    publish(deps, [event])


def _to_event(row: models.RevocationEvent) -> RevocationEvent:
    return RevocationEvent(
        issued_before=row.issued_before,
        revoked_at=row.revoked_at,
        **{f: getattr(row, f) for f in FIELDS},
    )


def load(deps: Deps) -> None:
    """Load live events at start, dropping those older than any valid token."""
    horizon = time.time() - deps.opts.token_expiration - deps.opts.allow_expired_window

    def purge(session: Session) -> None:
        session.execute(
            delete(models.RevocationEvent).where(models.RevocationEvent.issued_before < horizon)
        )

    deps.db.write(purge)
    with deps.db.reader() as session:
        rows = session.scalars(select(models.RevocationEvent)).all()
        deps.revocations.replace(_to_event(r) for r in rows)


def list_events(deps: Deps, since: float | None) -> list[RevocationEvent]:
    with deps.db.reader() as session:
        query = select(models.RevocationEvent).order_by(models.RevocationEvent.id)
        if since is not None:
            query = query.where(models.RevocationEvent.revoked_at >= since)
        return [_to_event(r) for r in session.scalars(query)]
