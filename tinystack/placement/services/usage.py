"""Usages: allocated amounts per provider, and totals per project (and user, type)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from tinystack.placement import models
from tinystack.placement.services.consumer import UNKNOWN_TYPE
from tinystack.placement.services.deps import Deps
from tinystack.placement.services.resource_provider import Provider, get_in_session

_INV = models.INV_TBL
_ALLOC = models.ALLOC_TBL
_CONSUMER = models.CONSUMER_TBL
_PROJECT = models.PROJECT_TBL
_USER = models.USER_TBL
_CTYPE = models.CONSUMER_TYPE_TBL


def for_provider(deps: Deps, uuid: str) -> tuple[Provider, dict[str, int]]:
    """Usage of every class the provider has inventory of (0 when nothing is allocated)."""
    with deps.read() as session:
        provider = get_in_session(session, uuid)
        used = (
            sa.select(sa.func.coalesce(sa.func.sum(_ALLOC.c.used), 0))
            .where(
                _ALLOC.c.resource_provider_id == _INV.c.resource_provider_id,
                _ALLOC.c.resource_class_id == _INV.c.resource_class_id,
            )
            .scalar_subquery()
        )
        rows = session.execute(
            sa.select(_INV.c.resource_class_id, used).where(
                _INV.c.resource_provider_id == provider.id
            )
        )
        usages = {
            deps.resource_classes.name_of(session, rc_id): int(amount) for rc_id, amount in rows
        }
    return provider, usages


def _scoped(sel: sa.Select[Any], project_id: str, user_id: str | None) -> sa.Select[Any]:
    sel = sel.join(_CONSUMER, _CONSUMER.c.uuid == _ALLOC.c.consumer_id).join(
        _PROJECT, _PROJECT.c.id == _CONSUMER.c.project_id
    )
    sel = sel.where(_PROJECT.c.external_id == project_id)
    if user_id:
        sel = sel.join(_USER, _USER.c.id == _CONSUMER.c.user_id).where(
            _USER.c.external_id == user_id
        )
    return sel


def totals(deps: Deps, project_id: str, user_id: str | None) -> dict[str, int]:
    """Sum of allocations per class for a project (and user): ``GET /usages`` before 1.38."""
    sel = _scoped(
        sa.select(_ALLOC.c.resource_class_id, sa.func.sum(_ALLOC.c.used)), project_id, user_id
    ).group_by(_ALLOC.c.resource_class_id)
    with deps.read() as session:
        return {
            deps.resource_classes.name_of(session, rc): int(amount)
            for rc, amount in session.execute(sel)
        }


def for_project(
    deps: Deps, project_id: str, user_id: str | None, by_type: bool, consumer_type: str | None
) -> dict[str, int] | dict[str, dict[str, int]]:
    """``GET /usages``: totals per class, or (from 1.38, ``by_type``) per consumer type."""
    if not by_type:
        return totals(deps, project_id, user_id)
    return totals_by_type(deps, project_id, user_id, consumer_type)


def totals_by_type(
    deps: Deps, project_id: str, user_id: str | None, consumer_type: str | None
) -> dict[str, dict[str, int]]:
    """``GET /usages`` from 1.38: per consumer type, with ``consumer_count``.

    ``all`` folds every type into one group, ``unknown`` selects consumers without a type.
    """
    consumers = sa.func.count(sa.distinct(_ALLOC.c.consumer_id))
    if consumer_type == "all":
        usage = totals(deps, project_id, user_id)
        if not usage:
            return {}
        with deps.read() as session:
            count = session.scalar(_scoped(sa.select(consumers), project_id, user_id))
        return {"all": usage | {"consumer_count": int(count or 0)}}

    def by_type(*cols: sa.ColumnElement[Any]) -> sa.Select[Any]:
        sel = _scoped(sa.select(_CTYPE.c.name, *cols), project_id, user_id).outerjoin(
            _CTYPE, _CTYPE.c.id == _CONSUMER.c.consumer_type_id
        )
        if consumer_type == UNKNOWN_TYPE:
            sel = sel.where(_CONSUMER.c.consumer_type_id.is_(None))
        elif consumer_type is not None:
            sel = sel.where(_CTYPE.c.name == consumer_type)
        return sel

    amounts = by_type(_ALLOC.c.resource_class_id, sa.func.sum(_ALLOC.c.used)).group_by(
        _CTYPE.c.name, _ALLOC.c.resource_class_id
    )
    counts = by_type(consumers).group_by(_CTYPE.c.name)
    result: dict[str, dict[str, int]] = defaultdict(dict)
    with deps.read() as session:
        for name, rc, amount in session.execute(amounts):
            result[name or UNKNOWN_TYPE][deps.resource_classes.name_of(session, rc)] = int(amount)
        for name, count in session.execute(counts):
            result[name or UNKNOWN_TYPE]["consumer_count"] = int(count)
    return dict(result)
