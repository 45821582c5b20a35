"""``GET /v2/images``: filters, sorting and keyset pagination, as upstream Glance offers them.

The query string arrives as (name, value) pairs. Known filters map to image
columns; ``tag`` (repeatable) must all be present; any other name filters on a
free-form property. Rows are read with Core queries (three per page: images,
their properties, their tags) because a page may hold 1,000 images.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select
from sqlalchemy.orm import Session

from tinystack.common.api import pagination
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.image import models
from tinystack.image.services import _access
from tinystack.image.services.image_attributes import VISIBILITIES
from tinystack.image.services.records import ImageRecord

SORT_KEYS = (
    "name",
    "status",
    "container_format",
    "disk_format",
    "size",
    "id",
    "created_at",
    "updated_at",
)
MEMBER_STATUSES = ("pending", "accepted", "rejected", "all")
TIME_OPS = ("gt", "gte", "eq", "neq", "lt", "lte")
IN_FILTERS = ("name", "id", "status", "container_format", "disk_format")
EQ_FILTERS = ("owner", "checksum", "os_hash_value", "os_hash_algo")
INT_FILTERS = ("min_ram", "min_disk", "size", "virtual_size")
RANGE_FILTERS = ("size_min", "size_max", "virtual_size_min", "virtual_size_max")
BOOL_FILTERS = ("protected", "os_hidden")
#: NULL sorts as these values, like upstream's pagination
NULL_SORT = {"name": "", "container_format": "", "disk_format": "", "size": 0}

Images = models.Image


@dataclass
class ListQuery:
    limit: int
    marker: str | None = None
    member_status: str = "accepted"
    visibility: str | None = None
    sort: list[tuple[str, str]] = field(default_factory=list)
    conditions: list[ColumnElement[bool]] = field(default_factory=list)


def parse(pairs: Sequence[tuple[str, str]], *, default_limit: int, max_limit: int) -> ListQuery:
    """Validate the query string of an image list."""
    params: dict[str, str] = {}
    tags: list[str] = []
    sort_keys: list[str] = []
    sort_dirs: list[str] = []
    new_sort: str | None = None
    for key, value in pairs:
        if key == "tag":
            tags.append(value.strip())
        elif key == "sort_key":
            sort_keys.append(_sort_key(value.strip()))
        elif key == "sort_dir":
            sort_dirs.append(_sort_dir(value.strip()))
        elif key == "sort":
            new_sort = value
        else:
            params[key] = value
    limit = pagination.parse_limit(
        params.pop("limit", None),
        default=default_limit,
        maximum=max_limit,
        rules=pagination.GLANCE,
    )
    query = ListQuery(limit=limit)
    query.marker = params.pop("marker", None)
    query.member_status = params.pop("member_status", "accepted")
    if query.member_status not in MEMBER_STATUSES:
        raise BadRequest(f"Invalid status: {query.member_status}")
    if new_sort is not None:
        if sort_keys or sort_dirs:
            raise BadRequest("Old and new sorting syntax cannot be combined")
        query.sort = _new_sort(new_sort)
    else:
        query.sort = _classic_sort(sort_keys, sort_dirs)
    query.visibility = params.pop("visibility", None)
    if query.visibility is not None and query.visibility not in (*VISIBILITIES, "all"):
        raise BadRequest(f"Invalid visibility value: {query.visibility}")
    if "changes-since" in params:
        raise BadRequest('The "changes-since" filter is no longer available on v2.')
    params.setdefault("os_hidden", "false")
    query.conditions = [_condition(key, value) for key, value in params.items()]
    query.conditions.extend(_has_tag(tag) for tag in tags)
    return query


def _sort_key(key: str) -> str:
    if key not in SORT_KEYS:
        raise BadRequest(
            f"Invalid sort key: {key}. It must be one of the following: {', '.join(SORT_KEYS)}."
        )
    return key


def _sort_dir(direction: str) -> str:
    if direction not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {direction}")
    return direction


def _new_sort(raw: str) -> list[tuple[str, str]]:
    result = []
    for item in raw.strip().split(","):
        key, _, direction = item.partition(":")
        result.append((_sort_key(key.strip()), _sort_dir(direction.strip() or "desc")))
    return _with_tiebreakers(result, "desc")


def _classic_sort(keys: list[str], dirs: list[str]) -> list[tuple[str, str]]:
    if len(dirs) > 1 and len(dirs) != len(keys):
        raise BadRequest("Number of sort dirs does not match the number of sort keys")
    keys = keys or ["created_at"]
    default = dirs[0] if len(dirs) <= 1 and dirs else "desc"
    if len(dirs) <= 1:
        dirs = [default] * len(keys)
    return _with_tiebreakers(list(zip(keys, dirs, strict=True)), default)


def _with_tiebreakers(sort: list[tuple[str, str]], default: str) -> list[tuple[str, str]]:
    keys = [k for k, _ in sort]
    for key in ("created_at", "id"):
        if key not in keys:
            sort.append((key, default))
    return sort


def split_filter_op(expression: str) -> tuple[str, str]:
    """``op:value`` -> (op, value); a bare value or an ISO 8601 time means ``eq``."""
    left, sep, right = expression.partition(":")
    if not sep:
        return "eq", expression
    if _parse_time(expression) is not None:
        return "eq", expression
    return left, right


def _parse_time(value: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def _split_values(value: str) -> list[str]:
    return next(csv.reader([value], skipinitialspace=True), [])


def _column(key: str) -> ColumnElement[Any]:
    column: ColumnElement[Any] = getattr(Images, key)
    return column


def _condition(key: str, value: str) -> ColumnElement[bool]:
    if key in IN_FILTERS:
        column = _column(key)
        op, operand = split_filter_op(value)
        if op == "in":
            return column.in_(_split_values(operand))
        if op == "eq":
            return column == operand
        raise BadRequest(f"Unable to filter by unknown operator '{op}'.")
    if key in ("created_at", "updated_at"):
        return _time_condition(key, value)
    if key in RANGE_FILTERS:
        column = _column(key[:-4])
        bound = _int(key, value, "Unable to filter on a range with a non-numeric value.")
        return column >= bound if key.endswith("_min") else column <= bound
    if key in BOOL_FILTERS:
        if value.lower() not in ("true", "false"):
            raise BadRequest(
                f"Invalid value '{value}' for '{key}' filter. Valid values are 'true' or 'false'."
            )
        return _column(key).is_(value.lower() == "true")
    if key in INT_FILTERS:
        return _column(key) == _int(key, value, f"Invalid value for {key}.")
    if key in EQ_FILTERS:
        return _column(key) == value
    return _has_property(key, value)


def _int(key: str, value: str, message: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(message) from None
    if not -(2**63) <= number < 2**63:
        raise BadRequest(f"Value of {key} is out of range.")
    return number


def _time_condition(key: str, value: str) -> ColumnElement[bool]:
    op, operand = split_filter_op(value)
    if op not in TIME_OPS:
        raise BadRequest(f"Unable to filter by unknown operator '{op}'.")
    when = _parse_time(operand)
    if when is None:
        raise BadRequest(f'Bad "{key}" query filter format. Use ISO 8601 DateTime notation.')
    column = _column(key)
    # Times are shown to the second, so a whole-second bound stands for that whole second.
    step = dt.timedelta(seconds=1) if when.microsecond == 0 else dt.timedelta(microseconds=1)
    after = when + step
    comparisons = {
        "gt": column >= after,
        "gte": column >= when,
        "eq": and_(column >= when, column < after),
        "neq": or_(column < when, column >= after),
        "lt": column < when,
        "lte": column < after,
    }
    return comparisons[op]


def _has_tag(tag: str) -> ColumnElement[bool]:
    tags = models.ImageTag
    return exists().where(tags.image_id == Images.id, tags.value == tag)


def _has_property(name: str, value: str) -> ColumnElement[bool]:
    props = models.ImageProperty
    return exists().where(props.image_id == Images.id, props.name == name, props.value == value)


def _visibility(ctx: RequestContext, query: ListQuery) -> list[ColumnElement[bool]]:
    project = ctx.project_id
    conditions: list[ColumnElement[bool]] = []
    if not ctx.is_admin:
        members = models.ImageMember
        membership = exists().where(
            members.image_id == Images.id, members.member == (project or "")
        )
        if query.member_status != "all":
            membership = membership.where(members.status == query.member_status)
        conditions.append(
            or_(
                Images.visibility.in_(("public", "community")),
                Images.owner == project if project else false(),
                and_(Images.visibility == "shared", membership),
            )
        )
    if query.visibility is not None:
        if query.visibility != "all":
            conditions.append(Images.visibility == query.visibility)
    elif project is None:
        conditions.append(Images.visibility != "community")
    else:
        conditions.append(or_(Images.owner == project, Images.visibility != "community"))
    return conditions


def _sort_column(key: str) -> Any:
    column = _column(key)
    if key in NULL_SORT:
        return func.coalesce(column, NULL_SORT[key])
    return column


def _after_marker(session: Session, ctx: RequestContext, query: ListQuery) -> ColumnElement[bool]:
    assert query.marker is not None
    try:
        marker = _access.load(session, ctx, query.marker)
    except NotFound:
        raise pagination.marker_not_found(query.marker) from None
    branches = []
    equal: list[ColumnElement[bool]] = []
    for key, direction in query.sort:
        column = _sort_column(key)
        value = getattr(marker, key)
        if value is None:
            value = NULL_SORT.get(key)
        beyond = column > value if direction == "asc" else column < value
        branches.append(and_(*equal, beyond))
        equal.append(column == value)
    return or_(*branches)


def list_images(
    session: Session, ctx: RequestContext, query: ListQuery
) -> tuple[list[ImageRecord], str | None]:
    """One page of the images the caller may see, and the marker of the next page."""
    where = [Images.deleted.is_(False), Images.status != "killed"]
    where += _visibility(ctx, query) + query.conditions
    if query.marker is not None:
        where.append(_after_marker(session, ctx, query))
    order = [
        _sort_column(key).asc() if direction == "asc" else _sort_column(key).desc()
        for key, direction in query.sort
    ]
    stmt = select(*Images.__table__.columns).where(*where).order_by(*order).limit(query.limit)
    rows = session.execute(stmt).mappings().all()
    records = _records(session, rows)
    return records, pagination.next_marker(records, lambda r: r.id, query.limit)


def _records(session: Session, rows: Sequence[Any]) -> list[ImageRecord]:
    ids = [row["id"] for row in rows]
    properties: dict[str, dict[str, str]] = defaultdict(dict)
    tags: dict[str, list[str]] = defaultdict(list)
    if ids:
        props = models.ImageProperty
        for image_id, name, value in session.execute(
            select(props.image_id, props.name, props.value)
            .where(props.image_id.in_(ids))
            .order_by(props.image_id, props.name)
        ):
            properties[image_id][name] = value
        tag_table = models.ImageTag
        for image_id, value in session.execute(
            select(tag_table.image_id, tag_table.value)
            .where(tag_table.image_id.in_(ids))
            .order_by(tag_table.image_id, tag_table.position)
        ):
            tags[image_id].append(value)
    return [
        ImageRecord(
            id=row["id"],
            name=row["name"],
            status=row["status"],
            visibility=row["visibility"],
            owner=row["owner"],
            protected=row["protected"],
            os_hidden=row["os_hidden"],
            disk_format=row["disk_format"],
            container_format=row["container_format"],
            min_disk=row["min_disk"],
            min_ram=row["min_ram"],
            size=row["size"],
            virtual_size=row["virtual_size"],
            checksum=row["checksum"],
            os_hash_algo=row["os_hash_algo"],
            os_hash_value=row["os_hash_value"],
            store=row["store"] if row["location"] else None,
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            properties=properties.get(row["id"], {}),
            tags=tuple(tags.get(row["id"], ())),
        )
        for row in rows
    ]
