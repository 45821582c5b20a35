"""Traits (the os-traits standard set plus ``CUSTOM_*``) and the traits of providers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import os_traits
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tinystack.common.exceptions import BadRequest, Conflict, NotFound
from tinystack.common.timeutils import utcnow
from tinystack.placement import models
from tinystack.placement.services.deps import Deps
from tinystack.placement.services.names import trait_ids
from tinystack.placement.services.resource_provider import Provider, get_in_session, lock_provider
from tinystack.placement.services.rows import insert_id

CUSTOM_PREFIX = "CUSTOM_"
_TRAIT = models.TRAIT_TBL
_RPT = models.RP_TRAIT_TBL


@dataclass(frozen=True, slots=True)
class Trait:
    id: int
    name: str
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass
class TraitFilter:
    names: list[str] | None = None
    prefix: str | None = None
    associated: bool | None = None


def sync_standard(deps: Deps) -> None:
    """Insert the standard traits this os-traits knows and the table lacks."""
    standard = set(os_traits.get_traits())

    def _sync(session: Session) -> None:
        existing = set(session.scalars(sa.select(_TRAIT.c.name)))
        missing = sorted(standard - existing)
        if missing:
            now = utcnow()
            session.execute(_TRAIT.insert(), [{"name": n, "created_at": now} for n in missing])

    with deps.read() as session:
        existing = set(session.scalars(sa.select(_TRAIT.c.name)))
    if standard - existing:
        deps.write(_sync)
    deps.traits.invalidate()


def _trait(row: sa.Row[Any]) -> Trait:
    return Trait(row.id, row.name, row.created_at, row.updated_at)


def list_all(deps: Deps, filters: TraitFilter) -> list[Trait]:
    sel = sa.select(_TRAIT).order_by(_TRAIT.c.name)
    if filters.names is not None:
        sel = sel.where(_TRAIT.c.name.in_(filters.names))
    if filters.prefix is not None:
        sel = sel.where(_TRAIT.c.name.startswith(filters.prefix, autoescape=True))
    if filters.associated is not None:
        used = sa.select(_RPT.c.trait_id).where(_RPT.c.trait_id == _TRAIT.c.id).exists()
        sel = sel.where(used if filters.associated else ~used)
    with deps.read() as session:
        return [_trait(r) for r in session.execute(sel)]


def get(deps: Deps, name: str) -> Trait:
    with deps.read() as session:
        row = session.execute(sa.select(_TRAIT).where(_TRAIT.c.name == name)).first()
    if row is None:
        raise NotFound(f"No such trait(s): {name}.")
    return _trait(row)


def ensure(deps: Deps, name: str) -> tuple[Trait, bool]:
    """Get or create a custom trait; the flag says whether it was created."""

    def _ensure(session: Session) -> tuple[Trait, bool]:
        row = session.execute(sa.select(_TRAIT).where(_TRAIT.c.name == name)).first()
        if row is not None:
            return _trait(row), False
        now = utcnow()
        new_id = insert_id(session, _TRAIT.insert().values(name=name, created_at=now))
        return Trait(new_id, name, now), True

    result = deps.write(_ensure)
    deps.traits.invalidate()
    return result


def delete(deps: Deps, name: str) -> None:
    def _delete(session: Session) -> None:
        trait_id = session.scalar(sa.select(_TRAIT.c.id).where(_TRAIT.c.name == name))
        if trait_id is None:
            raise NotFound(f"No such trait(s): {name}.")
        if not name.startswith(CUSTOM_PREFIX):
            raise BadRequest(f"Cannot delete standard trait {name}.")
        if session.scalar(sa.select(_RPT.c.trait_id).where(_RPT.c.trait_id == trait_id).limit(1)):
            raise Conflict(f"The trait {name} is in use by a resource provider.")
        session.execute(_TRAIT.delete().where(_TRAIT.c.id == trait_id))

    deps.write(_delete)
    deps.traits.invalidate()


def provider_traits(session: Session, provider_ids: Iterable[int]) -> dict[int, set[str]]:
    """Trait names of each provider (providers without traits are absent)."""
    ids = list(provider_ids)
    result: dict[int, set[str]] = {}
    if not ids:
        return result
    sel = (
        sa.select(_RPT.c.resource_provider_id, _TRAIT.c.name)
        .join(_TRAIT, _TRAIT.c.id == _RPT.c.trait_id)
        .where(_RPT.c.resource_provider_id.in_(ids))
    )
    for rp_id, name in session.execute(sel):
        result.setdefault(rp_id, set()).add(name)
    return result


def get_for_provider(deps: Deps, uuid: str) -> tuple[Provider, list[Trait]]:
    with deps.read() as session:
        provider = get_in_session(session, uuid)
        sel = (
            sa.select(_TRAIT)
            .join(_RPT, _RPT.c.trait_id == _TRAIT.c.id)
            .where(_RPT.c.resource_provider_id == provider.id)
            .order_by(_TRAIT.c.id)
        )
        return provider, [_trait(r) for r in session.execute(sel)]


def set_for_provider(
    deps: Deps, uuid: str, names: list[str], generation: int | None
) -> tuple[Provider, list[Trait]]:
    """Replace a provider's traits; ``generation`` (when given) must match the provider's."""

    def _set(session: Session) -> tuple[Provider, list[Trait]]:
        provider = lock_provider(session, uuid, generation)
        wanted = trait_ids(deps, session, names) if names else {}
        existing = set(
            session.scalars(
                sa.select(_RPT.c.trait_id).where(_RPT.c.resource_provider_id == provider.id)
            )
        )
        to_add = set(wanted.values()) - existing
        to_delete = existing - set(wanted.values())
        if to_delete:
            session.execute(
                _RPT.delete().where(
                    _RPT.c.resource_provider_id == provider.id, _RPT.c.trait_id.in_(to_delete)
                )
            )
        if to_add:
            now = utcnow()
            session.execute(
                _RPT.insert(),
                [
                    {"resource_provider_id": provider.id, "trait_id": t, "created_at": now}
                    for t in sorted(to_add)
                ],
            )
        if to_add or to_delete:
            provider = provider.bumped(session)
        rows = session.execute(
            sa.select(_TRAIT).where(_TRAIT.c.id.in_(wanted.values())).order_by(_TRAIT.c.id)
        )
        return provider, [_trait(r) for r in rows]

    return deps.write(
        _set,
        conflict_message="Resource provider's generation already changed. Please update the "
        "generation and try again.",
    )
