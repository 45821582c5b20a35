"""SQL building blocks shared by provider listing and allocation candidates.

Each function returns a boolean clause about the provider whose id is the
column ``rp_id``, so that filters compose into one statement and the database
stops at ``LIMIT`` without computing every match.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from tinystack.placement import models

_INV = models.INV_TBL
_ALLOC = models.ALLOC_TBL
_RPT = models.RP_TRAIT_TBL
_RPA = models.RP_AGG_TBL
_AGG = models.AGG_TBL

Clause = ColumnElement[bool]
#: an integer, or a bound parameter standing for one (cached statements)
IntArg = int | ColumnElement[int]
#: ids, or an expanding bound parameter standing for them (cached statements)
IdsArg = Iterable[int] | BindParameter[Any]


def _ids(values: IdsArg) -> list[int] | BindParameter[Any]:
    return values if isinstance(values, BindParameter) else list(values)


def used_amount(rp_id: ColumnElement[int], rc_id: IntArg) -> ColumnElement[int]:
    """The amount of class ``rc_id`` currently allocated from provider ``rp_id``."""
    return (
        sa.select(sa.func.coalesce(sa.func.sum(_ALLOC.c.used), 0))
        .where(_ALLOC.c.resource_provider_id == rp_id, _ALLOC.c.resource_class_id == rc_id)
        .scalar_subquery()
    )


def has_capacity(rp_id: ColumnElement[int], rc_id: IntArg, amount: IntArg) -> Clause:
    """The provider has inventory of the class that can take ``amount`` more now."""
    inv = _INV.alias("cap_inv")
    want = amount if isinstance(amount, ColumnElement) else sa.literal(amount, sa.Integer)
    return (
        sa.select(inv.c.id)
        .where(
            inv.c.resource_provider_id == rp_id,
            inv.c.resource_class_id == rc_id,
            used_amount(inv.c.resource_provider_id, rc_id) + want
            <= (inv.c.total - inv.c.reserved) * inv.c.allocation_ratio,
            inv.c.min_unit <= want,
            inv.c.max_unit >= want,
            want % inv.c.step_size == 0,
        )
        .exists()
    )


def has_any_trait(rp_id: ColumnElement[int], trait_ids: IdsArg) -> Clause:
    return (
        sa.select(_RPT.c.trait_id)
        .where(_RPT.c.resource_provider_id == rp_id, _RPT.c.trait_id.in_(_ids(trait_ids)))
        .exists()
    )


def has_traits(rp_id: ColumnElement[int], required: Sequence[IdsArg]) -> list[Clause]:
    """One clause per any-of set: the provider has at least one trait of each set."""
    return [has_any_trait(rp_id, any_of) for any_of in required]


def lacks_traits(rp_id: ColumnElement[int], forbidden: IdsArg) -> Clause:
    return ~has_any_trait(rp_id, forbidden)


def in_any_aggregate(rp_id: ColumnElement[int], agg_ids: IdsArg) -> Clause:
    return (
        sa.select(_RPA.c.aggregate_id)
        .where(_RPA.c.resource_provider_id == rp_id, _RPA.c.aggregate_id.in_(_ids(agg_ids)))
        .exists()
    )


def aggregate_ids(session: Session, uuids: Iterable[str]) -> dict[str, int]:
    wanted = list(set(uuids))
    if not wanted:
        return {}
    rows = session.execute(sa.select(_AGG.c.uuid, _AGG.c.id).where(_AGG.c.uuid.in_(wanted)))
    return dict(rows.all())


def resolve_member_of(session: Session, member_of: list[set[str]]) -> list[set[int]] | None:
    """Aggregate ids for each any-of set; None when some set names no existing aggregate."""
    known = aggregate_ids(session, {u for any_of in member_of for u in any_of})
    resolved = []
    for any_of in member_of:
        ids = {known[u] for u in any_of if u in known}
        if not ids:
            return None
        resolved.append(ids)
    return resolved


def provider_ids_where(session: Session, clauses: list[Clause]) -> set[int]:
    rp = models.RP_TBL
    return set(session.scalars(sa.select(rp.c.id).where(*clauses)))
