"""Metadata definition namespaces: ``/v2/metadefs/namespaces`` (list, create with content,
show with content, replace, delete, and delete all objects/properties/tags).

A create carries the namespace and, optionally, its resource type associations,
objects, properties and tags, all written in one transaction (a failure leaves
nothing behind). Names are unique: 409 on a duplicate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common import timeutils
from tinystack.common.api import pagination
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, Conflict, Forbidden
from tinystack.common.rpc.payload import JSON
from tinystack.image import models
from tinystack.image.policies import metadefs as rules
from tinystack.image.services import _metadef_access as access
from tinystack.image.services import metadef_validation as check
from tinystack.image.services.deps import Deps
from tinystack.image.services.metadef_resource_types import Association, associate
from tinystack.image.services.records import NamespaceRecord

SCHEMA = "namespace"
SORT_KEYS = ("created_at", "updated_at", "namespace", "display_name", "visibility", "id")
Namespaces = models.MetadefNamespace


@dataclass(frozen=True, slots=True)
class ObjectSpec:
    name: str
    description: str | None
    required: list[str]
    properties: dict[str, JSON]


@dataclass(frozen=True, slots=True)
class NamespaceSpec:
    """A checked namespace body (create or replace)."""

    namespace: str
    display_name: str | None = None
    description: str | None = None
    visibility: str | None = None
    protected: bool | None = None
    owner: str | None = None
    associations: list[Association] = field(default_factory=list)
    objects: list[ObjectSpec] = field(default_factory=list)
    properties: dict[str, JSON] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


def parse(body: object) -> NamespaceSpec:
    data = check.body_object(body, check.NAMESPACE_READONLY)
    name = check.required_name(SCHEMA, data, "namespace")
    visibility = data.get("visibility")
    if visibility is not None and visibility not in ("public", "private"):
        raise check.bad(SCHEMA, f"{visibility!r} is not one of ['public', 'private']")
    protected = data.get("protected")
    if protected is not None and not isinstance(protected, bool):
        raise check.bad(SCHEMA, f"{protected!r} is not of type 'boolean'")
    return NamespaceSpec(
        namespace=name,
        display_name=check.string(SCHEMA, data, "display_name", 80),
        description=check.string(SCHEMA, data, "description", 500),
        visibility=visibility,
        protected=protected,
        owner=check.string(SCHEMA, data, "owner", 255),
        associations=[_association(a) for a in _array(data, "resource_type_associations")],
        objects=[_object(o) for o in _array(data, "objects")],
        properties=check.property_map(SCHEMA, data.get("properties")),
        tags=[_tag(t) for t in _array(data, "tags")],
    )


def _array(data: Mapping[str, object], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise check.bad(SCHEMA, f"{key}: {value!r} is not of type 'array'")
    return value


def _association(item: object) -> Association:
    if not isinstance(item, dict):
        raise check.bad(SCHEMA, f"{item!r} is not of type 'object'")
    return Association(
        name=check.required_name(SCHEMA, item),
        prefix=check.string(SCHEMA, item, "prefix", 80),
        properties_target=check.string(SCHEMA, item, "properties_target", 80),
    )


def _object(item: object) -> ObjectSpec:
    if not isinstance(item, dict):
        raise check.bad(SCHEMA, f"{item!r} is not of type 'object'")
    required = item.get("required")
    return ObjectSpec(
        name=check.required_name(SCHEMA, item),
        description=check.string(SCHEMA, item, "description", None),
        required=check.string_array(SCHEMA, required) if required is not None else [],
        properties=check.property_map(SCHEMA, item.get("properties")),
    )


def _tag(item: object) -> str:
    if not isinstance(item, dict):
        raise check.bad(SCHEMA, f"{item!r} is not of type 'object'")
    return check.required_name(SCHEMA, item)


# -- list ---------------------------------------------------------------------------------


def list_namespaces(
    deps: Deps, ctx: RequestContext, pairs: Sequence[tuple[str, str]]
) -> tuple[list[NamespaceRecord], str | None]:
    params = dict(pairs)
    limit = _limit(deps, params.pop("limit", None))
    sort_key = params.pop("sort_key", "created_at")
    sort_dir = params.pop("sort_dir", "desc")
    if sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {sort_dir}")
    if sort_key not in SORT_KEYS:
        raise BadRequest(f"Invalid sort key: {sort_key}")
    marker = params.pop("marker", None)
    where: list[ColumnElement[bool]] = []
    visibility = params.get("visibility")
    if visibility:
        if visibility not in ("public", "private"):
            raise BadRequest(f"Invalid visibility value: {visibility}")
        where.append(Namespaces.visibility == visibility)
    if not ctx.is_admin:
        where.append(
            or_(Namespaces.visibility == "public", Namespaces.owner == (ctx.project_id or ""))
        )
    if params.get("resource_types"):
        where.append(_has_resource_type(params["resource_types"].split(",")))
    column = getattr(Namespaces, sort_key)
    with deps.db.reader() as session:
        if marker:
            where.append(_after(session, ctx, marker, sort_key, sort_dir))
        order = (
            (column.asc(), Namespaces.id.asc())
            if sort_dir == "asc"
            else (
                column.desc(),
                Namespaces.id.desc(),
            )
        )
        rows = [
            ns
            for ns in session.execute(select(Namespaces).where(*where).order_by(*order))
            .scalars()
            .all()
            if ctx.allowed(rules.GET_NAMESPACE, access.target(ns))
        ][: limit if limit else None]
        links = access.associations(session, [ns.id for ns in rows])
        records = [access.namespace_record(ns, links[ns.id]) for ns in rows]
    next_marker = records[-1].namespace if records and len(records) == limit else None
    return records, next_marker


def _limit(deps: Deps, raw: str | None) -> int:
    if raw is None:
        return deps.opts.limit_param_default
    try:
        limit = int(raw)
    except ValueError:
        raise BadRequest("limit param must be an integer") from None
    if limit < 0:
        raise BadRequest("limit param must be positive")
    return min(limit, deps.opts.api_limit_max)


def _has_resource_type(names: list[str]) -> ColumnElement[bool]:
    links, types = models.MetadefNamespaceResourceType, models.MetadefResourceType
    return exists().where(
        links.namespace_id == Namespaces.id,
        links.resource_type_id == types.id,
        types.name.in_([n.strip() for n in names]),
    )


def _after(
    session: Session, ctx: RequestContext, marker: str, key: str, direction: str
) -> ColumnElement[bool]:
    row = session.execute(select(Namespaces).where(Namespaces.namespace == marker)).scalar()
    if row is None or not access.visible(ctx, row):
        raise pagination.marker_not_found(marker)
    column, value = getattr(Namespaces, key), getattr(row, key)
    if direction == "asc":
        return or_(column > value, and_(column == value, Namespaces.id > row.id))
    return or_(column < value, and_(column == value, Namespaces.id < row.id))


# -- create, show, replace, delete --------------------------------------------------------


def create(deps: Deps, ctx: RequestContext, spec: NamespaceSpec) -> NamespaceRecord:
    tgt = {"project_id": spec.owner or ctx.project_id, "visibility": spec.visibility or "private"}
    ctx.can(rules.ADD_NAMESPACE, tgt)
    for needed, rule in (
        (spec.associations, rules.ADD_RESOURCE_TYPE),
        (spec.objects, rules.ADD_OBJECT),
        (spec.properties, rules.ADD_PROPERTY),
        (spec.tags, rules.ADD_TAG),
    ):
        if needed:
            ctx.can(rule, tgt)

    def txn(session: Session) -> NamespaceRecord:
        return insert(session, spec, owner=spec.owner or ctx.project_id)

    try:
        return deps.db.write(txn)
    except IntegrityError:
        raise Conflict(_duplicate(spec)) from None


def _duplicate(spec: NamespaceSpec) -> str:
    return f"Metadata definition namespace={spec.namespace} already exists."


def insert(session: Session, spec: NamespaceSpec, owner: str | None) -> NamespaceRecord:
    """Write a namespace and its content (also the definition loader's entry point)."""
    if session.execute(select(Namespaces.id).where(Namespaces.namespace == spec.namespace)).first():
        raise Conflict(_duplicate(spec))
    now = timeutils.utcnow()
    ns = Namespaces(
        namespace=spec.namespace,
        display_name=spec.display_name,
        description=spec.description,
        visibility=spec.visibility or "private",
        protected=bool(spec.protected),
        owner=owner,
        created_at=now,
        updated_at=now,
    )
    session.add(ns)
    session.flush()
    links = [associate(session, ns, a) for a in spec.associations]
    for obj in spec.objects:
        session.add(
            models.MetadefObject(
                namespace_id=ns.id,
                name=obj.name,
                description=obj.description,
                required=obj.required,
                properties=obj.properties,
                created_at=now,
                updated_at=now,
            )
        )
    for name, definition in spec.properties.items():
        session.add(
            models.MetadefProperty(
                namespace_id=ns.id, name=name, schema=definition, created_at=now, updated_at=now
            )
        )
    for tag in dict.fromkeys(spec.tags):
        session.add(models.MetadefTag(namespace_id=ns.id, name=tag, created_at=now, updated_at=now))
    session.flush()
    return _full_record(session, ns, links_given=links)


def show(deps: Deps, ctx: RequestContext, name: str, resource_type: str | None) -> NamespaceRecord:
    with deps.db.reader() as session:
        ns = access.load(
            session,
            ctx,
            name,
            rules.LIST_RESOURCE_TYPES,
            rules.GET_OBJECTS,
            rules.GET_PROPERTIES,
            rules.GET_TAGS,
        )
        record = _full_record(session, ns)
    return _prefixed(record, resource_type) if resource_type else record


def _full_record(
    session: Session, ns: models.MetadefNamespace, links_given: list[Any] | None = None
) -> NamespaceRecord:
    links = links_given if links_given is not None else access.associations(session, [ns.id])[ns.id]
    objects = session.execute(
        select(models.MetadefObject)
        .where(models.MetadefObject.namespace_id == ns.id)
        .order_by(models.MetadefObject.name)
    ).scalars()
    props = session.execute(
        select(models.MetadefProperty)
        .where(models.MetadefProperty.namespace_id == ns.id)
        .order_by(models.MetadefProperty.name)
    ).scalars()
    tags = session.execute(
        select(models.MetadefTag)
        .where(models.MetadefTag.namespace_id == ns.id)
        .order_by(models.MetadefTag.name)
    ).scalars()
    return access.namespace_record(
        ns,
        links,
        properties={p.name: dict(p.schema) for p in props},
        objects=tuple(access.object_record(o) for o in objects),
        tags=tuple(access.tag_record(t) for t in tags),
    )


def _prefixed(record: NamespaceRecord, resource_type: str) -> NamespaceRecord:
    """Property names with the prefix of the resource type's association (``?resource_type=``)."""
    prefix = next(
        (a.prefix for a in record.resource_type_associations if a.name == resource_type), None
    )
    if not prefix:
        return record
    objects = tuple(
        replace(
            o,
            properties={prefix + k: v for k, v in o.properties.items()},
            required=tuple(prefix + r for r in o.required),
        )
        for o in record.objects or ()
    )
    properties = {prefix + k: v for k, v in (record.properties or {}).items()}
    return replace(record, properties=properties, objects=objects)


def update(deps: Deps, ctx: RequestContext, name: str, spec: NamespaceSpec) -> NamespaceRecord:
    def txn(session: Session) -> NamespaceRecord:
        ns = access.load(session, ctx, name)
        access.authorize(ctx, rules.MODIFY_NAMESPACE, ns)
        if (
            spec.namespace != ns.namespace
            and session.execute(
                select(Namespaces.id).where(Namespaces.namespace == spec.namespace)
            ).first()
        ):
            raise Conflict(_duplicate(spec))
        ns.namespace = spec.namespace
        ns.display_name = spec.display_name
        ns.description = spec.description
        ns.visibility = spec.visibility or "private"
        ns.protected = bool(spec.protected)
        ns.owner = spec.owner or ctx.project_id
        ns.updated_at = timeutils.utcnow()
        session.flush()
        return access.namespace_record(ns, access.associations(session, [ns.id])[ns.id])

    return access.write_unique(deps.db, txn, "A metadata definition namespace with that name")


def delete_namespace(deps: Deps, ctx: RequestContext, name: str) -> None:
    def txn(session: Session) -> None:
        ns = access.load(session, ctx, name)
        access.authorize(ctx, rules.DELETE_NAMESPACE, ns)
        _unprotected(ns)
        session.delete(ns)
        for table in (
            models.MetadefObject,
            models.MetadefProperty,
            models.MetadefTag,
            models.MetadefNamespaceResourceType,
        ):
            session.execute(delete(table).where(table.namespace_id == ns.id))

    deps.db.write(txn)


def _unprotected(ns: models.MetadefNamespace) -> None:
    if ns.protected:
        raise Forbidden(f"Namespace {ns.namespace} is protected and cannot be deleted.")


def delete_content(deps: Deps, ctx: RequestContext, name: str, kind: str) -> None:
    """Delete every object, property or tag of a namespace (``kind``)."""
    tables: dict[str, type[models.MetadefObject | models.MetadefProperty | models.MetadefTag]]
    tables = {
        "objects": models.MetadefObject,
        "properties": models.MetadefProperty,
        "tags": models.MetadefTag,
    }
    table = tables[kind]

    def txn(session: Session) -> None:
        ns = access.load(session, ctx, name)
        access.authorize(ctx, rules.DELETE_NAMESPACE, ns)
        if kind == "tags":
            access.authorize(ctx, rules.DELETE_TAGS, ns)
        access.unprotected(ns, kind, ns.namespace)
        session.execute(delete(table).where(table.namespace_id == ns.id))

    deps.db.write(txn)
