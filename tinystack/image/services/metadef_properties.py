"""Metadef properties: ``/v2/metadefs/namespaces/{ns}/properties`` (typed property definitions)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common import timeutils
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import Conflict, NotFound
from tinystack.common.rpc.payload import JSON
from tinystack.image import models
from tinystack.image.policies import metadefs as rules
from tinystack.image.services import _metadef_access as access
from tinystack.image.services import metadef_validation as check
from tinystack.image.services.deps import Deps
from tinystack.image.services.records import PropertyRecord

SCHEMA = "property"
Properties = models.MetadefProperty


@dataclass(frozen=True, slots=True)
class PropertySpec:
    name: str
    schema: dict[str, JSON]


def parse(body: object) -> PropertySpec:
    data = check.body_object(body, check.CHILD_READONLY)
    name = check.required_name(SCHEMA, data)
    return PropertySpec(name, check.property_definition(SCHEMA, name, data))


def _get(session: Session, ns: models.MetadefNamespace, name: str) -> models.MetadefProperty:
    row = session.execute(
        select(Properties).where(Properties.namespace_id == ns.id, Properties.name == name)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(
            f"Metadata definition property not found for namespace={ns.namespace} and "
            f"property={name}"
        )
    return row


def _unique(session: Session, ns: models.MetadefNamespace, name: str) -> None:
    if session.execute(
        select(Properties.id).where(Properties.namespace_id == ns.id, Properties.name == name)
    ).first():
        raise Conflict(
            f"A metadata definition property with name={name} already exists in "
            f"namespace={ns.namespace}."
        )


def _record(row: models.MetadefProperty) -> PropertyRecord:
    return PropertyRecord(row.name, dict(row.schema))


def list_properties(deps: Deps, ctx: RequestContext, namespace: str) -> list[PropertyRecord]:
    with deps.db.reader() as session:
        ns = access.load(session, ctx, namespace, rules.GET_PROPERTIES)
        rows = session.execute(
            select(Properties).where(Properties.namespace_id == ns.id).order_by(Properties.name)
        ).scalars()
        return [_record(r) for r in rows]


def show(
    deps: Deps, ctx: RequestContext, namespace: str, name: str, resource_type: str | None
) -> PropertyRecord:
    with deps.db.reader() as session:
        ns = access.load(session, ctx, namespace, rules.GET_PROPERTY)
        if resource_type:
            access.authorize(ctx, rules.GET_RESOURCE_TYPE, ns)
            links = access.associations(session, [ns.id])[ns.id]
            link = next((a for a in links if a.name == resource_type), None)
            if link is None:
                raise NotFound(
                    f"Failed to find resource type {resource_type} associated with namespace "
                    f"{namespace}"
                )
            prefix = link.prefix or ""
            if prefix and not name.startswith(prefix):
                raise NotFound(
                    f"Property {name} does not start with the expected resource type "
                    f"association prefix of '{prefix}'."
                )
            name = name[len(prefix) :]
        return _record(_get(session, ns, name))


def create(deps: Deps, ctx: RequestContext, namespace: str, spec: PropertySpec) -> PropertyRecord:
    def txn(session: Session) -> PropertyRecord:
        ns = access.load(session, ctx, namespace)
        access.authorize(ctx, rules.ADD_PROPERTY, ns)
        _unique(session, ns, spec.name)
        now = timeutils.utcnow()
        row = Properties(
            namespace_id=ns.id, name=spec.name, schema=spec.schema, created_at=now, updated_at=now
        )
        session.add(row)
        session.flush()
        return _record(row)

    return access.write_unique(deps.db, txn, "A metadata definition property with that name")


def update(
    deps: Deps, ctx: RequestContext, namespace: str, name: str, spec: PropertySpec
) -> PropertyRecord:
    def txn(session: Session) -> PropertyRecord:
        ns = access.load(session, ctx, namespace)
        row = _get(session, ns, name)
        access.authorize(ctx, rules.MODIFY_PROPERTY, ns)
        if spec.name != name:
            _unique(session, ns, spec.name)
        row.name = spec.name
        row.schema = spec.schema
        row.updated_at = timeutils.utcnow()
        session.flush()
        return _record(row)

    return access.write_unique(deps.db, txn, "A metadata definition property with that name")


def delete(deps: Deps, ctx: RequestContext, namespace: str, name: str) -> None:
    def txn(session: Session) -> None:
        ns = access.load(session, ctx, namespace)
        row = _get(session, ns, name)
        access.authorize(ctx, rules.REMOVE_PROPERTY, ns)
        access.unprotected(ns, "property", name)
        session.delete(row)

    deps.db.write(txn)
