"""Aggregates: groups of providers, known only by UUID, created on first use."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tinystack.common.timeutils import utcnow
from tinystack.placement import models
from tinystack.placement.services.deps import Deps
from tinystack.placement.services.resource_provider import (
    Provider,
    get,
    get_in_session,
    lock_provider,
)
from tinystack.placement.services.rows import insert_id

_AGG = models.AGG_TBL
_RPA = models.RP_AGG_TBL


def _uuids(session: Session, provider_id: int) -> list[str]:
    sel = (
        sa.select(_AGG.c.uuid)
        .join(_RPA, _RPA.c.aggregate_id == _AGG.c.id)
        .where(_RPA.c.resource_provider_id == provider_id)
        .order_by(_AGG.c.id)
    )
    return list(session.scalars(sel))


def get_for_provider(deps: Deps, uuid: str) -> tuple[Provider, list[str]]:
    with deps.read() as session:
        provider = get_in_session(session, uuid)
        return provider, _uuids(session, provider.id)


def ensure_aggregates(session: Session, uuids: set[str]) -> dict[str, int]:
    """Ids of the aggregates, inserting the unknown ones (a racing insert retries the txn)."""
    if not uuids:
        return {}
    sel = sa.select(_AGG.c.uuid, _AGG.c.id).where(_AGG.c.uuid.in_(uuids))
    found = dict(session.execute(sel).all())
    now = utcnow()
    for agg_uuid in sorted(uuids - found.keys()):
        found[agg_uuid] = insert_id(session, _AGG.insert().values(uuid=agg_uuid, created_at=now))
    return found


#: the parsed request: the aggregates and, from 1.19, the generation the caller saw
AggregatesBody = Callable[[], tuple[list[str], int | None]]


def set_for_provider(deps: Deps, uuid: str, body: AggregatesBody) -> tuple[Provider, list[str]]:
    """Replace a provider's aggregates; from 1.19 the generation is checked and bumped.

    ``body`` is parsed only once the provider is known to exist: a missing provider
    is a 404 before any body problem (as upstream).
    """
    get(deps, uuid)
    aggregates, generation = body()
    return _set_for_provider(deps, uuid, aggregates, generation, bump=generation is not None)


def _set_for_provider(
    deps: Deps, uuid: str, aggregates: list[str], generation: int | None, bump: bool
) -> tuple[Provider, list[str]]:

    def _set(session: Session) -> tuple[Provider, list[str]]:
        provider = lock_provider(session, uuid, generation)
        wanted = ensure_aggregates(session, set(aggregates))
        existing = set(
            session.scalars(
                sa.select(_RPA.c.aggregate_id).where(_RPA.c.resource_provider_id == provider.id)
            )
        )
        to_delete = existing - set(wanted.values())
        to_add = set(wanted.values()) - existing
        if to_delete:
            session.execute(
                _RPA.delete().where(
                    _RPA.c.resource_provider_id == provider.id, _RPA.c.aggregate_id.in_(to_delete)
                )
            )
        if to_add:
            now = utcnow()
            session.execute(
                _RPA.insert(),
                [
                    {"resource_provider_id": provider.id, "aggregate_id": a, "created_at": now}
                    for a in sorted(to_add)
                ],
            )
        if bump:
            provider = provider.bumped(session)
        return provider, list(dict.fromkeys(aggregates))

    return deps.write(
        _set,
        conflict_message="Resource provider's generation already changed. Please update the "
        "generation and try again.",
    )
