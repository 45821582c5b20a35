"""Metadef tags: ``/v2/metadefs/namespaces/{ns}/tags`` (one, many at once, rename, delete).

``POST .../tags`` with a list replaces the namespace's tags, or adds to them with
``X-Openstack-Append: true``; a name given twice, or (when appending) one that
exists, is 409 and nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.orm import Session

from tinystack.common import timeutils
from tinystack.common.api import pagination
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, Conflict, NotFound
from tinystack.image import models
from tinystack.image.policies import metadefs as rules
from tinystack.image.services import _metadef_access as access
from tinystack.image.services import metadef_validation as check
from tinystack.image.services.deps import Deps
from tinystack.image.services.records import TagRecord

SCHEMA = "tag"
Tags = models.MetadefTag
SORT_KEYS = ("created_at", "updated_at", "name", "id")


def parse(body: object) -> str:
    return check.required_name(SCHEMA, check.body_object(body, ("created_at", "updated_at")))


def parse_many(body: object) -> list[str]:
    data = check.body_object(body, ("created_at", "updated_at"))
    tags = data.get("tags")
    if not isinstance(tags, list):
        raise check.bad("tags", f"{tags!r} is not of type 'array'")
    names = []
    for item in tags:
        if not isinstance(item, dict) or set(item) - {"name"}:
            raise check.bad("tags", f"{item!r} is not a tag (an object with only a name)")
        names.append(check.required_name("tags", item))
    return names


def _get(session: Session, ns: models.MetadefNamespace, name: str) -> models.MetadefTag:
    row = session.execute(
        select(Tags).where(Tags.namespace_id == ns.id, Tags.name == name)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(
            f"Metadata definition tag not found for namespace={ns.namespace} and tag={name}"
        )
    return row


def _duplicate(ns: models.MetadefNamespace, name: str) -> Conflict:
    return Conflict(
        f"A metadata tag with name={name} already exists in namespace={ns.namespace}. "
        "(Please note that metadata tag names are case insensitive)."
    )


def _exists(session: Session, ns: models.MetadefNamespace, name: str) -> bool:
    return bool(
        session.execute(
            select(Tags.id).where(Tags.namespace_id == ns.id, Tags.name == name)
        ).first()
    )


def list_tags(
    deps: Deps, ctx: RequestContext, namespace: str, pairs: Sequence[tuple[str, str]]
) -> list[TagRecord]:
    params = dict(pairs)
    sort_key = params.get("sort_key", "created_at")
    sort_dir = params.get("sort_dir", "desc")
    if sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {sort_dir}")
    if sort_key not in SORT_KEYS:
        raise BadRequest(f"Invalid sort key: {sort_key}")
    limit = None
    if params.get("limit"):
        try:
            limit = int(params["limit"])
        except ValueError:
            raise BadRequest("limit param must be an integer") from None
        if limit < 0:
            raise BadRequest("limit param must be positive")
    column = getattr(Tags, sort_key)
    with deps.db.reader() as session:
        ns = access.load(session, ctx, namespace, rules.GET_TAGS)
        where: list[ColumnElement[bool]] = [Tags.namespace_id == ns.id]
        if params.get("marker"):
            where.append(_after(session, ns, params["marker"], sort_key, sort_dir))
        order = (
            (column.asc(), Tags.id.asc())
            if sort_dir == "asc"
            else (
                column.desc(),
                Tags.id.desc(),
            )
        )
        query = select(Tags).where(*where).order_by(*order)
        if limit is not None:
            query = query.limit(limit)
        return [access.tag_record(t) for t in session.execute(query).scalars()]


def _after(
    session: Session, ns: models.MetadefNamespace, marker: str, key: str, direction: str
) -> ColumnElement[bool]:
    row = session.execute(
        select(Tags).where(Tags.namespace_id == ns.id, Tags.name == marker)
    ).scalar_one_or_none()
    if row is None:
        raise pagination.marker_not_found(marker)
    column, value = getattr(Tags, key), getattr(row, key)
    if direction == "asc":
        return or_(column > value, and_(column == value, Tags.id > row.id))
    return or_(column < value, and_(column == value, Tags.id < row.id))


def show(deps: Deps, ctx: RequestContext, namespace: str, name: str) -> TagRecord:
    with deps.db.reader() as session:
        ns = access.load(session, ctx, namespace, rules.GET_TAG)
        return access.tag_record(_get(session, ns, name))


def create(deps: Deps, ctx: RequestContext, namespace: str, name: str) -> TagRecord:
    check.required_name(SCHEMA, {"name": name})

    def txn(session: Session) -> TagRecord:
        ns = access.load(session, ctx, namespace)
        access.authorize(ctx, rules.ADD_TAG, ns)
        if _exists(session, ns, name):
            raise _duplicate(ns, name)
        now = timeutils.utcnow()
        row = Tags(namespace_id=ns.id, name=name, created_at=now, updated_at=now)
        session.add(row)
        session.flush()
        return access.tag_record(row)

    return access.write_unique(deps.db, txn, "A metadata tag with that name")


def create_many(
    deps: Deps, ctx: RequestContext, namespace: str, names: list[str], append: bool
) -> list[TagRecord]:
    def txn(session: Session) -> list[TagRecord]:
        ns = access.load(session, ctx, namespace)
        access.authorize(ctx, rules.ADD_TAGS, ns)
        if not append:
            session.execute(delete(Tags).where(Tags.namespace_id == ns.id))
        now, rows = timeutils.utcnow(), list[models.MetadefTag]()
        for name in names:
            if name in [r.name for r in rows] or (append and _exists(session, ns, name)):
                raise _duplicate(ns, name)
            rows.append(Tags(namespace_id=ns.id, name=name, created_at=now, updated_at=now))
        session.add_all(rows)
        session.flush()
        return [access.tag_record(r) for r in rows]

    return access.write_unique(deps.db, txn, "A metadata tag with that name")


def update(deps: Deps, ctx: RequestContext, namespace: str, name: str, new_name: str) -> TagRecord:
    def txn(session: Session) -> TagRecord:
        ns = access.load(session, ctx, namespace)
        row = _get(session, ns, name)
        access.authorize(ctx, rules.MODIFY_TAG, ns)
        if new_name != name and _exists(session, ns, new_name):
            raise _duplicate(ns, new_name)
        row.name = new_name
        row.updated_at = timeutils.utcnow()
        session.flush()
        return access.tag_record(row)

    return access.write_unique(deps.db, txn, "A metadata tag with that name")


def delete_tag(deps: Deps, ctx: RequestContext, namespace: str, name: str) -> None:
    def txn(session: Session) -> None:
        ns = access.load(session, ctx, namespace)
        row = _get(session, ns, name)
        access.authorize(ctx, rules.DELETE_TAG, ns)
        access.unprotected(ns, "tag", name)
        session.delete(row)

    deps.db.write(txn)
