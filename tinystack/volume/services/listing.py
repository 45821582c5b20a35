"""Lists of one table as cinder pages them: exact and ``~`` (like) filters, metadata
filters, sort keys with directions, a ``marker`` (the last id of the previous page),
``limit``/``offset`` and the total ``count`` (3.45).

:class:`ListQuery` is what a list request asks for, parsed and checked by the API
(``api/listing.py``); :func:`page` applies it to a ``select`` of one model. The keyset
condition after the marker treats NULL as the smallest value on every database (the
order is ``col IS NOT NULL, col``), so a page boundary on a NULL name neither repeats
nor skips rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from tinystack.volume import exception

M = TypeVar("M")


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A list request: filters by column name (``name`` already ``display_name``; a key
    ending in ``~`` is a like filter), metadata pairs, ``(key, dir)`` sort pairs."""

    filters: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    sort: tuple[tuple[str, str], ...] = (("created_at", "desc"),)
    marker: str | None = None
    limit: int | None = None
    offset: int = 0
    all_tenants: bool = False
    with_count: bool = False


#: a filter the model has no column for: ``(query, value) -> query``
Special = Callable[[Select[Any], str], Select[Any]]


@dataclass(frozen=True, slots=True)
class Table:
    """How one model is listed."""

    model: type[Any]
    #: ``not_found(marker)``: the error for a marker that names no visible row
    not_found: Callable[[str], Exception]
    #: filters that are not plain columns (``availability_zone`` of a snapshot's volume)
    special: Mapping[str, Special] = field(default_factory=dict)
    #: ``(metadata model, its foreign key column name)`` for ``metadata`` filters
    metadata: tuple[type[Any], str] | None = None
    #: sort keys the API spells differently (``name`` -> ``display_name``)
    sort_aliases: Mapping[str, str] = field(default_factory=dict)


def _column(model: type[Any], name: str) -> InstrumentedAttribute[Any] | None:
    attr = getattr(model, name, None)
    if isinstance(attr, InstrumentedAttribute) and hasattr(attr, "type"):
        return attr
    return None


def _filtered(query: Select[Any], table: Table, wanted: ListQuery) -> Select[Any] | None:
    """``query`` with the filters; None when a filter names nothing (no row matches,
    as upstream answers an unknown filter key)."""
    model = table.model
    for key, value in wanted.filters.items():
        if key in table.special:
            query = table.special[key](query, value)
            continue
        like = key.endswith("~")
        col = _column(model, key.rstrip("~"))
        if col is None:
            return None
        if like:
            query = query.where(col.like(f"%{value}%"))
        else:
            query = query.where(col == _typed(col, value))
    if wanted.metadata:
        if table.metadata is None:
            return None
        meta, fk = table.metadata
        for key, value in wanted.metadata.items():
            query = query.where(
                select(meta)
                .where(getattr(meta, fk) == model.id, meta.key == key, meta.value == value)
                .exists()
            )
    return query


def _typed(col: InstrumentedAttribute[Any], value: str) -> Any:
    """A query-string value as the column's type (booleans and integers)."""
    python_type: type[Any] | None
    try:
        python_type = col.type.python_type
    except NotImplementedError:
        python_type = None
    if python_type is bool:
        return value.strip().lower() in ("1", "true", "yes", "on", "t", "y")
    if python_type is int:
        try:
            return int(value)
        except ValueError:
            return value
    return value


def _sort_columns(table: Table, wanted: ListQuery) -> list[tuple[InstrumentedAttribute[Any], bool]]:
    """``(column, descending)`` per sort key, ``id`` last so the order is total."""
    found = []
    names = []
    for key, direction in wanted.sort:
        name = table.sort_aliases.get(key, key)
        col = _column(table.model, name)
        if col is None:
            raise exception.InvalidInput(reason="Invalid sort key")
        found.append((col, direction == "desc"))
        names.append(name)
    if "id" not in names:
        last_desc = found[-1][1] if found else True
        found.append((table.model.id, last_desc))
    return found


def _after(col: Any, value: Any, desc: bool) -> ColumnElement[bool]:
    """Rows after ``value`` in ``col``'s order (NULL is the smallest value)."""
    if not desc:
        return col.is_not(None) if value is None else and_(col.is_not(None), col > value)
    return false() if value is None else or_(col.is_(None), col < value)


def _equal(col: Any, value: Any) -> ColumnElement[bool]:
    found: ColumnElement[bool] = col.is_(None) if value is None else col == value
    return found


def _keyset(
    columns: list[tuple[InstrumentedAttribute[Any], bool]], marker: Any
) -> ColumnElement[bool]:
    clauses = []
    for i, (col, desc) in enumerate(columns):
        equal = [_equal(c, getattr(marker, c.key)) for c, _ in columns[:i]]
        clauses.append(and_(true(), *equal, _after(col, getattr(marker, col.key), desc)))
    return or_(*clauses)


def page(session: Session, query: Select[Any], table: Table, wanted: ListQuery) -> list[Any]:
    """The rows of ``query`` (a ``select`` of ``table.model`` already limited to what the
    caller may see) that ``wanted`` asks for."""
    filtered = _filtered(query, table, wanted)
    if filtered is None:
        return []
    columns = _sort_columns(table, wanted)
    if wanted.marker is not None:
        marker = session.scalars(filtered.where(table.model.id == wanted.marker)).first()
        if marker is None:
            marker = session.scalars(query.where(table.model.id == wanted.marker)).first()
        if marker is None:
            raise table.not_found(wanted.marker)
        filtered = filtered.where(_keyset(columns, marker))
    for col, desc in columns:
        filtered = filtered.order_by(col.is_not(None).desc() if desc else col.is_not(None))
        filtered = filtered.order_by(col.desc() if desc else col.asc())
    if wanted.offset:
        filtered = filtered.offset(wanted.offset)
    if wanted.limit is not None:
        filtered = filtered.limit(wanted.limit)
    return list(session.scalars(filtered))


def count(session: Session, query: Select[Any], table: Table, wanted: ListQuery) -> int:
    """How many rows the filters leave (no marker, limit or offset), for ``with_count``."""
    filtered = _filtered(query, table, wanted)
    if filtered is None:
        return 0
    return int(session.scalar(select(func.count()).select_from(filtered.subquery())) or 0)
