"""Resources: the cloud objects metrics belong to (an instance, a disk, a volume, …),
typed by a resource type whose attributes they carry.

A resource id that is not a UUID is mapped to one as Gnocchi does (uuid5 of the id and
its creator), the given id kept as ``original_resource_id``. Authorization needs the
loaded resource (its project and creator), so it happens here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, Conflict
from tinystack.common.rpc.payload import JSON
from tinystack.common.timeutils import naive_utc, parse_isotime, utcnow
from tinystack.metric import models
from tinystack.metric.policies import resources as rules
from tinystack.metric.services import _rows, metrics, resource_types, search
from tinystack.metric.services.deps import Deps
from tinystack.metric.services.records import ResourceRecord

#: Gnocchi's namespace for resource ids that are not UUIDs
RESOURCE_ID_NAMESPACE = uuid.UUID("0a7a15ff-aa13-4ac2-897c-9bdf30ce175b")


@dataclass(frozen=True, slots=True)
class ResourceSpec:
    """What a create or an update gives (None: not given)."""

    id: str | None = None
    project_id: str | None = None
    user_id: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    #: metric name -> an existing metric's id, or the new metric's archive policy and unit
    metrics: dict[str, str | metrics.MetricSpec] = field(default_factory=dict)
    attributes: dict[str, JSON] = field(default_factory=dict)
    given: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Page:
    limit: int | None = None
    marker: str | None = None
    #: ``attribute[:asc|:desc]``, the first the primary key
    sorts: tuple[str, ...] = ()


def creator_of(ctx: RequestContext) -> str:
    return f"{ctx.user_id}:{ctx.project_id}"


def _target(row: models.Resource) -> dict[str, Any]:
    return {
        "project_id": row.project_id,
        "user_id": row.user_id,
        "created_by_project_id": row.created_by_project_id,
        "created_by_user_id": row.created_by_user_id,
    }


def _time(value: str | None, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        return naive_utc(parse_isotime(value))
    except ValueError:
        raise BadRequest(f"Invalid input: {what} is not a timestamp") from None


def create(deps: Deps, ctx: RequestContext, rtype: str, spec: ResourceSpec) -> ResourceRecord:
    if not spec.id:
        raise BadRequest("Invalid input: required key not provided @ data['id']")
    creator = creator_of(ctx)
    rid = _rows.resource_uuid(spec.id, creator)
    started = _time(spec.started_at, "started_at") or naive_utc(utcnow())
    ended = _time(spec.ended_at, "ended_at")
    if ended is not None and ended < started:
        raise BadRequest("Start timestamp cannot be after end timestamp")

    def tx(session: Session) -> ResourceRecord:
        type_row = _rows.resource_type(session, rtype)
        attributes = resource_types.check_attributes(type_row, spec.attributes, creating=True)
        if session.get(models.Resource, rid) is not None:
            raise Conflict(f"Resource {rid} already exists")
        row = models.Resource(
            id=rid,
            original_resource_id=spec.id,
            type=rtype,
            project_id=spec.project_id,
            user_id=spec.user_id,
            created_by_user_id=ctx.user_id,
            created_by_project_id=ctx.project_id,
            started_at=started,
            revision_start=naive_utc(utcnow()),
            ended_at=ended,
            attributes=attributes,
        )
        session.add(row)
        session.flush()
        metrics.attach(session, ctx, row, spec.metrics)
        return _rows.resource_record(session, row)

    return deps.db.write(tx)


def get(deps: Deps, ctx: RequestContext, rtype: str, resource_id: str) -> ResourceRecord:
    with deps.db.reader() as session:
        row = _rows.resource(session, rtype, resource_id, creator_of(ctx))
        ctx.can(rules.GET, _target(row))
        return _rows.resource_record(session, row)


def _page(
    rows: list[models.Resource], limit: int | None, marker: str | None
) -> list[models.Resource]:
    if marker is not None:
        ids = [r.id for r in rows]
        if marker not in ids:
            raise BadRequest(f"Invalid marker: `{marker}'")
        rows = rows[ids.index(marker) + 1 :]
    return rows if limit is None else rows[:limit]


def list_items(
    deps: Deps, ctx: RequestContext, rtype: str, limit: int | None, marker: str | None
) -> list[ResourceRecord]:
    with deps.db.reader() as session:
        rows = _page(_rows.visible(session, ctx, rtype), limit, marker)
        return [_rows.resource_record(session, r) for r in rows]


def _sorted(rows: list[models.Resource], attribute: str, desc: bool) -> list[models.Resource]:
    """Stable, nulls last."""
    keyed: list[tuple[Any, models.Resource]] = [
        (search.values_of(r).get(attribute), r) for r in rows
    ]
    present = [(v, r) for v, r in keyed if v is not None]
    try:
        present.sort(key=lambda pair: pair[0], reverse=desc)
    except TypeError:
        raise BadRequest(f"Invalid input: {attribute} has values of mixed types") from None
    return [r for _, r in present] + [r for v, r in keyed if v is None]


def search_items(
    deps: Deps, ctx: RequestContext, rtype: str, query: object, page: Page
) -> list[ResourceRecord]:
    """``POST /v1/search/resource/{type}``: the matching resources, sorted (``attr:asc``
    or ``attr:desc``, nulls last; then oldest first) and paged."""
    with deps.db.reader() as session:
        accepts = search.accepts(session, rtype, query, creator_of(ctx))
        rows = [r for r in _rows.visible(session, ctx, rtype) if accepts(search.values_of(r))]
        known = set(search.COMMON) | set(_rows.resource_type(session, rtype).attributes)
        for sort in reversed(page.sorts):
            attribute, _, direction = sort.partition(":")
            if attribute not in known or direction.split("-")[0] not in ("", "asc", "desc"):
                raise BadRequest(f"Invalid input: invalid sort {sort!r}")
            rows = _sorted(rows, attribute, direction.startswith("desc"))
        rows = _page(rows, page.limit, page.marker)
        return [_rows.resource_record(session, r) for r in rows]


def update(
    deps: Deps, ctx: RequestContext, rtype: str, resource_id: str, spec: ResourceSpec
) -> ResourceRecord:
    def tx(session: Session) -> ResourceRecord:
        row = _rows.resource(session, rtype, resource_id, creator_of(ctx))
        ctx.can(rules.UPDATE, _target(row))
        type_row = _rows.resource_type(session, row.type)
        attributes = resource_types.check_attributes(type_row, spec.attributes, creating=False)
        for key in ("id", "project_id", "user_id", "started_at"):
            if key in spec.given:
                raise BadRequest(f"Invalid input: extra keys not allowed @ data['{key}']")
        if "ended_at" in spec.given:
            ended = _time(spec.ended_at, "ended_at")
            if ended is not None and ended < row.started_at:
                raise BadRequest("Start timestamp cannot be after end timestamp")
            row.ended_at = ended
        if attributes:
            row.attributes = {**row.attributes, **attributes}
            row.revision_start = naive_utc(utcnow())
        if "metrics" in spec.given:
            metrics.attach(session, ctx, row, spec.metrics)
        session.flush()
        return _rows.resource_record(session, row)

    return deps.db.write(tx)


def delete(deps: Deps, ctx: RequestContext, rtype: str, resource_id: str) -> None:
    def tx(session: Session) -> None:
        row = _rows.resource(session, rtype, resource_id, creator_of(ctx))
        ctx.can(rules.DELETE, _target(row))
        metrics.delete_of_resource(session, row.id)
        session.delete(row)

    deps.db.write(tx)
