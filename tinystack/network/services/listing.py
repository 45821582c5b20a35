"""Generic list machinery: filters, sorting and marker/limit pagination.

Filters on attributes that are plain columns go to SQL; when every filter and
sort key is a column, sorting and pagination go to SQL too (keyset pagination
after the marker row). Anything else (derived attributes such as ``shared`` or
``fixed_ips``, tags) is filtered, sorted and paginated on the records (by API attribute name),
as upstream's emulated helpers do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Select, and_, false, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from tinystack.network.exception import invalid_input, not_found

#: what a list returns: the resource's records
R = TypeVar("R")
#: API attribute name -> its value on a record (filters and sorts done in Python)
Getters = Mapping[str, Callable[[Any], Any]]
Matcher = Callable[[Any, list[Any]], bool]
TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")
_TRUE = {"1", "t", "true", "on", "y", "yes"}
_FALSE = {"0", "f", "false", "off", "n", "no"}


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise invalid_input(f"'{value}' cannot be converted to boolean")


def to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise invalid_input(f"'{value}' is not an integer")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid_input(f"'{value}' is not an integer") from None
    if not -(2**31) <= number < 2**31:
        raise invalid_input(f"'{value}' is out of range")
    return number


def to_int_or_none(value: Any) -> int | None:
    return None if value in (None, "", "None", "null") else to_int(value)


@dataclass
class ListQuery:
    """What a list request asks for, already validated by the API layer."""

    filters: dict[str, list[Any]] = field(default_factory=dict)
    sorts: list[tuple[str, bool]] = field(default_factory=list)
    limit: int | None = None
    marker: str | None = None
    page_reverse: bool = False
    tag_filters: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class ListSpec:
    """How one resource is listed."""

    resource: str
    model: Any
    #: attribute -> column, for filters in SQL
    columns: dict[str, InstrumentedAttribute[Any]]
    #: attribute -> converter of filter values (bool/int attributes)
    converters: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    #: attributes whose column is never NULL: sortable in SQL
    sortable: frozenset[str] = frozenset({"id", "name"})
    #: custom matchers for list/dict attributes filtered in Python
    matchers: dict[str, Matcher] = field(default_factory=dict)
    #: how the records expose API attributes (filters and sorts done in Python)
    getters: Getters = field(default_factory=dict)

    def value(self, item: Any, attr: str) -> tuple[bool, Any]:
        """(whether ``item`` has the API attribute ``attr``, its value)."""
        getter = self.getters.get(attr)
        return (False, None) if getter is None else (True, getter(item))


def convert_filters(spec: ListSpec, raw: dict[str, list[str]]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for attr, values in raw.items():
        convert = spec.converters.get(attr)
        out[attr] = [convert(v) for v in values] if convert else list(values)
    return out


def run(
    session: Session,
    spec: ListSpec,
    stmt: Select[Any],
    query: ListQuery,
    render: Callable[[Session, Sequence[Any]], list[R]],
) -> list[R]:
    """Rows of ``stmt`` (already restricted to what the caller may see) as items."""
    filters = convert_filters(spec, query.filters)
    python_filters = {}
    for attr, values in filters.items():
        column = spec.columns.get(attr)
        if column is not None and attr not in spec.matchers:
            stmt = stmt.where(column.in_(values)) if values else stmt.where(false())
        else:
            python_filters[attr] = values
    sorts = list(query.sorts)
    if not any(key == "id" for key, _ in sorts):
        sorts.append(("id", True))
    in_sql = not python_filters and not query.tag_filters
    if in_sql and all(key in spec.sortable for key, _ in sorts):
        return _sql_page(session, spec, stmt, query, sorts, render)
    rows = session.scalars(stmt).unique().all()
    items = [i for i in render(session, rows) if _matches(spec, i, python_filters)]
    if query.tag_filters:
        tags = query.tag_filters
        items = [i for i in items if _tags_match(spec.value(i, "tags")[1] or [], tags)]
    items = sort_items(items, sorts, spec)
    return paginate(items, query, spec)


def _sql_page(
    session: Session,
    spec: ListSpec,
    stmt: Select[Any],
    query: ListQuery,
    sorts: list[tuple[str, bool]],
    render: Callable[[Session, Sequence[Any]], list[R]],
) -> list[R]:
    reverse = query.page_reverse and query.limit is not None
    order = [(spec.columns[k], asc != reverse) for k, asc in sorts]
    if query.limit is not None and query.marker:
        marker = session.get(spec.model, query.marker)
        if marker is None:
            raise not_found(spec.resource, query.marker)
        stmt = stmt.where(_after(marker, order))
    stmt = stmt.order_by(*[col.asc() if asc else col.desc() for col, asc in order])
    if query.limit is not None:
        stmt = stmt.limit(query.limit)
    rows = list(session.scalars(stmt).unique().all())
    if reverse:
        rows.reverse()
    return render(session, rows)


def _after(marker: Any, order: list[tuple[InstrumentedAttribute[Any], bool]]) -> Any:
    """Rows strictly after ``marker`` in the given (column, ascending) order."""
    clauses = []
    for i, (col, asc) in enumerate(order):
        value = getattr(marker, col.key)
        equal = [c == getattr(marker, c.key) for c, _ in order[:i]]
        clauses.append(and_(*equal, col > value if asc else col < value))
    return or_(*clauses)


def _matches(spec: ListSpec, item: Any, filters: dict[str, list[Any]]) -> bool:
    for attr, values in filters.items():
        present, actual = spec.value(item, attr)
        if not present:
            return False
        matcher = spec.matchers.get(attr)
        if matcher is not None:
            if not matcher(actual, values):
                return False
        elif isinstance(actual, (list, tuple)):
            if not any(v in actual for v in values):
                return False
        elif actual not in values:
            return False
    return True


def _tags_match(tags: Sequence[str], filters: dict[str, list[str]]) -> bool:
    have = set(tags)
    for kind, wanted in filters.items():
        want = set(wanted)
        if kind == "tags" and not want <= have:
            return False
        if kind == "tags-any" and not want & have:
            return False
        if kind == "not-tags" and want <= have:
            return False
        if kind == "not-tags-any" and want & have:
            return False
    return True


def _sort_value(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, tuple):
        return (1, str(list(value)))
    if isinstance(value, (list, dict)):
        return (1, str(value))
    return (1, value)


def sort_items(items: list[R], sorts: list[tuple[str, bool]], spec: ListSpec) -> list[R]:
    for key, asc in reversed(sorts):

        def value(item: R, key: str = key) -> tuple[int, Any]:
            return _sort_value(spec.value(item, key)[1])

        items = sorted(items, key=value, reverse=not asc)
    return items


def paginate(items: list[R], query: ListQuery, spec: ListSpec) -> list[R]:
    """Upstream's emulated pagination: an unknown marker yields an empty page."""
    limit = query.limit
    if limit is None:
        return items
    if query.marker:
        marker = query.marker
        index = next((n for n, i in enumerate(items) if spec.value(i, "id")[1] == marker), None)
        if index is None:
            return []
    else:
        index = len(items) if query.page_reverse else 0
    if query.page_reverse:
        return items[max(index - limit, 0) : index]
    if query.marker:
        index += 1
    return items[index : index + limit]
