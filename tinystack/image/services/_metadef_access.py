"""Loading metadef namespaces and authorizing on them (the namespace is every rule's target).

A namespace is visible to admins, to its owner's project, and to everyone when it
is public; one the caller cannot see, or may not read, is 404 (``Namespace x not
found``), never 403, as upstream. Rows become records here, in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.db import Database
from tinystack.common.exceptions import Conflict, Forbidden, NotFound, PolicyNotAuthorized
from tinystack.common.rpc.payload import JSON
from tinystack.image import models
from tinystack.image.policies import metadefs as rules
from tinystack.image.services.records import (
    AssociationRecord,
    NamespaceRecord,
    ObjectRecord,
    ResourceTypeRecord,
    TagRecord,
)

Namespaces = models.MetadefNamespace
T = TypeVar("T")


def write_unique(db: Database, txn: Callable[[Session], T], what: str) -> T:
    """Run a write whose names must be unique: a racing duplicate is 409, not 500."""
    try:
        return db.write(txn)
    except IntegrityError:
        raise Conflict(f"{what} already exists.") from None


class NamespaceNotFound(NotFound):
    def __init__(self, namespace: str) -> None:
        super().__init__(f"Namespace {namespace} not found")


def target(ns: models.MetadefNamespace) -> dict[str, str | None]:
    return {"project_id": ns.owner, "owner": ns.owner, "visibility": ns.visibility}


def visible(ctx: RequestContext, ns: models.MetadefNamespace) -> bool:
    return (
        ctx.is_admin
        or ns.visibility == "public"
        or (ctx.project_id is not None and ns.owner == ctx.project_id)
    )


def load(
    session: Session, ctx: RequestContext, name: str, *rule_names: str
) -> models.MetadefNamespace:
    """The namespace, if visible and ``get_metadef_namespace`` allows it; then ``rule_names``."""
    ns = session.execute(
        select(Namespaces).where(Namespaces.namespace == name)
    ).scalar_one_or_none()
    if ns is None or not visible(ctx, ns) or not ctx.allowed(rules.GET_NAMESPACE, target(ns)):
        raise NamespaceNotFound(name)
    for rule in rule_names:
        authorize(ctx, rule, ns)
    return ns


def authorize(ctx: RequestContext, rule: str, ns: models.MetadefNamespace) -> None:
    if not ctx.allowed(rule, target(ns)):
        raise PolicyNotAuthorized(
            f"You are not authorized to perform the requested action: {rule}."
        )


def unprotected(ns: models.MetadefNamespace, kind: str, name: str) -> None:
    """Content of a protected namespace cannot be deleted (403)."""
    if ns.protected:
        raise Forbidden(f"Metadata definition {kind} {name} is protected and cannot be deleted.")


def association_record(link: models.MetadefNamespaceResourceType, name: str) -> AssociationRecord:
    return AssociationRecord(
        name=name,
        prefix=link.prefix,
        properties_target=link.properties_target,
        created_at=link.created_at,
        updated_at=link.updated_at,
    )


def associations(session: Session, namespace_ids: list[int]) -> dict[int, list[AssociationRecord]]:
    links = models.MetadefNamespaceResourceType
    types = models.MetadefResourceType
    result: dict[int, list[AssociationRecord]] = {i: [] for i in namespace_ids}
    if not namespace_ids:
        return result
    rows = session.execute(
        select(links, types.name)
        .join(types, types.id == links.resource_type_id)
        .where(links.namespace_id.in_(namespace_ids))
        .order_by(links.created_at, types.name)
    ).all()
    for link, name in rows:
        result[link.namespace_id].append(association_record(link, name))
    return result


def object_record(obj: models.MetadefObject) -> ObjectRecord:
    return ObjectRecord(
        name=obj.name,
        description=obj.description,
        required=tuple(obj.required or ()),
        properties=dict(obj.properties or {}),
        created_at=obj.created_at,
        updated_at=obj.updated_at,
    )


def tag_record(tag: models.MetadefTag) -> TagRecord:
    return TagRecord(tag.name, tag.created_at, tag.updated_at)


def resource_type_record(row: models.MetadefResourceType) -> ResourceTypeRecord:
    return ResourceTypeRecord(row.name, row.created_at, row.updated_at)


def namespace_record(
    ns: models.MetadefNamespace,
    links: list[AssociationRecord],
    *,
    properties: dict[str, JSON] | None = None,
    objects: tuple[ObjectRecord, ...] | None = None,
    tags: tuple[TagRecord, ...] | None = None,
) -> NamespaceRecord:
    return NamespaceRecord(
        namespace=ns.namespace,
        display_name=ns.display_name,
        description=ns.description,
        visibility=ns.visibility,
        protected=ns.protected,
        owner=ns.owner,
        created_at=ns.created_at,
        updated_at=ns.updated_at,
        resource_type_associations=tuple(links),
        properties=properties,
        objects=objects,
        tags=tags,
    )
