"""The resolved form of an allocation-candidates request, which both search strategies run on.

:class:`Search` is the request with names resolved to ids, in one read transaction;
the direct search (``candidates``) and the tree search (``candidate_trees``) share it
and the capacity and sharing-provider queries below.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import os_traits
import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from tinystack.placement import models
from tinystack.placement.services import filters
from tinystack.placement.services.candidate_request import RequestGroup, RequestWideParams
from tinystack.placement.services.deps import Deps

_INV = models.INV_TBL
_RPT = models.RP_TRAIT_TBL
_TRAIT = models.TRAIT_TBL

#: an allocation request in ids: [(provider id, class id, amount)], {suffix: [provider id]}
RawRequest = tuple[list[tuple[int, int, int]], dict[str, list[int]]]


@dataclass
class ResolvedGroup:
    """A request group with names resolved to internal ids."""

    group: RequestGroup
    resources: dict[int, int]
    required: list[set[int]]
    forbidden: set[int]

    @property
    def suffix(self) -> str:
        return self.group.suffix


@dataclass
class Search:
    """Everything a search needs, resolved once."""

    deps: Deps
    session: Session
    groups: list[ResolvedGroup]
    params: RequestWideParams
    nested_aware: bool
    limit: int | None
    root_required: set[int]
    root_forbidden: set[int]

    def root_clauses(self, root_col: sa.ColumnElement[int]) -> list[filters.Clause]:
        clauses = filters.has_traits(root_col, [{t} for t in self.root_required])
        if self.root_forbidden:
            clauses.append(filters.lacks_traits(root_col, self.root_forbidden))
        return clauses


def param(name: str, expanding: bool = False) -> BindParameter[Any]:
    return sa.bindparam(name, type_=sa.Integer, expanding=expanding)


def sharing_provider_ids(session: Session) -> set[int]:
    sel = (
        sa.select(_RPT.c.resource_provider_id)
        .join(_TRAIT, _TRAIT.c.id == _RPT.c.trait_id)
        .where(_TRAIT.c.name == os_traits.MISC_SHARES_VIA_AGGREGATE)
    )
    return set(session.scalars(sel))


_INVENTORY_STATE = sa.select(
    _INV.c.resource_provider_id,
    _INV.c.resource_class_id,
    _INV.c.total,
    _INV.c.reserved,
    _INV.c.allocation_ratio,
    _INV.c.max_unit,
    filters.used_amount(_INV.c.resource_provider_id, _INV.c.resource_class_id),
).where(_INV.c.resource_provider_id.in_(param("ids", True)))


def inventory_state(
    session: Session, provider_ids: Iterable[int]
) -> dict[int, dict[int, tuple[int, int, int]]]:
    """Per provider and class: (capacity, used, max_unit)."""
    result: dict[int, dict[int, tuple[int, int, int]]] = {}
    ids = sorted(set(provider_ids))
    if not ids:
        return result
    rows = session.execute(_INVENTORY_STATE, {"ids": ids})
    for rp_id, rc_id, total, reserved, ratio, max_unit, used in rows:
        capacity = int((total - reserved) * ratio)
        result.setdefault(rp_id, {})[rc_id] = (capacity, int(used), max_unit)
    return result
