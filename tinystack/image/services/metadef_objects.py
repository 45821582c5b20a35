"""Metadef objects: ``/v2/metadefs/namespaces/{ns}/objects`` (a named group of properties)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common import timeutils
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import Conflict, NotFound
from tinystack.image import models
from tinystack.image.policies import metadefs as rules
from tinystack.image.services import _metadef_access as access
from tinystack.image.services import metadef_validation as check
from tinystack.image.services.deps import Deps
from tinystack.image.services.metadef_namespaces import ObjectSpec
from tinystack.image.services.records import ObjectRecord

SCHEMA = "object"
Objects = models.MetadefObject


def parse(body: object) -> ObjectSpec:
    data = check.body_object(body, check.CHILD_READONLY)
    required = data.get("required")
    return ObjectSpec(
        name=check.required_name(SCHEMA, data),
        description=check.string(SCHEMA, data, "description", None),
        required=check.string_array(SCHEMA, required) if required is not None else [],
        properties=check.property_map(SCHEMA, data.get("properties")),
    )


def _get(session: Session, ns: models.MetadefNamespace, name: str) -> models.MetadefObject:
    row = session.execute(
        select(Objects).where(Objects.namespace_id == ns.id, Objects.name == name)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(
            f"Metadata definition object not found for namespace={ns.namespace} and object={name}"
        )
    return row


def _unique(session: Session, ns: models.MetadefNamespace, name: str) -> None:
    found = session.execute(
        select(Objects.id).where(Objects.namespace_id == ns.id, Objects.name == name)
    ).first()
    if found:
        raise Conflict(
            f"A metadata definition object with name={name} already exists in "
            f"namespace={ns.namespace}."
        )


def list_objects(deps: Deps, ctx: RequestContext, namespace: str) -> list[ObjectRecord]:
    with deps.db.reader() as session:
        ns = access.load(session, ctx, namespace, rules.GET_OBJECTS)
        rows = session.execute(
            select(Objects).where(Objects.namespace_id == ns.id).order_by(Objects.created_at.desc())
        ).scalars()
        return [access.object_record(o) for o in rows]


def show(deps: Deps, ctx: RequestContext, namespace: str, name: str) -> ObjectRecord:
    with deps.db.reader() as session:
        ns = access.load(session, ctx, namespace, rules.GET_OBJECT)
        return access.object_record(_get(session, ns, name))


def create(deps: Deps, ctx: RequestContext, namespace: str, spec: ObjectSpec) -> ObjectRecord:
    def txn(session: Session) -> ObjectRecord:
        ns = access.load(session, ctx, namespace)
        access.authorize(ctx, rules.ADD_OBJECT, ns)
        _unique(session, ns, spec.name)
        now = timeutils.utcnow()
        row = Objects(
            namespace_id=ns.id,
            name=spec.name,
            description=spec.description,
            required=spec.required,
            properties=spec.properties,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        return access.object_record(row)

    return access.write_unique(deps.db, txn, "A metadata definition object with that name")


def update(
    deps: Deps, ctx: RequestContext, namespace: str, name: str, spec: ObjectSpec
) -> ObjectRecord:
    def txn(session: Session) -> ObjectRecord:
        ns = access.load(session, ctx, namespace)
        row = _get(session, ns, name)
        access.authorize(ctx, rules.MODIFY_OBJECT, ns)
        if spec.name != name:
            _unique(session, ns, spec.name)
        row.name = spec.name
        row.description = spec.description
        row.required = spec.required
        row.properties = spec.properties
        row.updated_at = timeutils.utcnow()
        session.flush()
        return access.object_record(row)

    return access.write_unique(deps.db, txn, "A metadata definition object with that name")


def delete(deps: Deps, ctx: RequestContext, namespace: str, name: str) -> None:
    def txn(session: Session) -> None:
        ns = access.load(session, ctx, namespace)
        row = _get(session, ns, name)
        access.authorize(ctx, rules.DELETE_OBJECT, ns)
        access.unprotected(ns, "object", name)
        session.delete(row)

    deps.db.write(txn)
