"""Metadef resource types (``/v2/metadefs/resource_types``) and a namespace's associations
with them (``/v2/metadefs/namespaces/{ns}/resource_types``).

Associating a namespace with a resource type that does not exist yet creates the
type, as upstream. The standard types (images, volumes, flavors, aggregates,
servers) are created at bootstrap, protected.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tinystack.common import timeutils
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import Conflict, NotFound
from tinystack.image import models
from tinystack.image.policies import metadefs as rules
from tinystack.image.services import _metadef_access as access
from tinystack.image.services import metadef_validation as check
from tinystack.image.services.deps import Deps
from tinystack.image.services.records import AssociationRecord, ResourceTypeRecord

STANDARD = (
    "OS::Glance::Image",
    "OS::Cinder::Volume",
    "OS::Nova::Flavor",
    "OS::Nova::Aggregate",
    "OS::Nova::Server",
)
SCHEMA = "resource_type_association"
Types = models.MetadefResourceType
Links = models.MetadefNamespaceResourceType


@dataclass(frozen=True, slots=True)
class Association:
    name: str
    prefix: str | None = None
    properties_target: str | None = None


def parse(body: object) -> Association:
    data = check.body_object(body, ("created_at", "updated_at"))
    return Association(
        name=check.required_name(SCHEMA, data),
        prefix=check.string(SCHEMA, data, "prefix", 80),
        properties_target=check.string(SCHEMA, data, "properties_target", 80),
    )


def _resource_type(
    session: Session, name: str, *, protected: bool = False
) -> models.MetadefResourceType:
    """The resource type called ``name``, created when missing."""
    row = session.execute(select(Types).where(Types.name == name)).scalar_one_or_none()
    if row is None:
        now = timeutils.utcnow()
        row = Types(name=name, protected=protected, created_at=now, updated_at=now)
        session.add(row)
        session.flush()
    return row


def ensure_standard(session: Session) -> None:
    for name in STANDARD:
        _resource_type(session, name, protected=True)


def associate(
    session: Session, ns: models.MetadefNamespace, association: Association
) -> AssociationRecord:
    kind = _resource_type(session, association.name)
    if session.get(Links, (kind.id, ns.id)) is not None:
        raise Conflict(
            f"The metadata definition resource-type association of resource-type="
            f"{association.name} to namespace={ns.namespace}, already exists."
        )
    now = timeutils.utcnow()
    link = Links(
        resource_type_id=kind.id,
        namespace_id=ns.id,
        prefix=association.prefix,
        properties_target=association.properties_target,
        created_at=now,
        updated_at=now,
    )
    session.add(link)
    session.flush()
    return access.association_record(link, kind.name)


def list_resource_types(deps: Deps, ctx: RequestContext) -> list[ResourceTypeRecord]:
    ctx.can(rules.LIST_RESOURCE_TYPES, {"project_id": ctx.project_id})
    with deps.db.reader() as session:
        rows = session.execute(select(Types).order_by(Types.name)).scalars()
        return [access.resource_type_record(r) for r in rows]


def list_associations(deps: Deps, ctx: RequestContext, namespace: str) -> list[AssociationRecord]:
    with deps.db.reader() as session:
        ns = access.load(session, ctx, namespace, rules.GET_RESOURCE_TYPE)
        return access.associations(session, [ns.id])[ns.id]


def create_association(
    deps: Deps, ctx: RequestContext, namespace: str, association: Association
) -> AssociationRecord:
    def txn(session: Session) -> AssociationRecord:
        ns = access.load(session, ctx, namespace)
        access.authorize(ctx, rules.ADD_RESOURCE_TYPE, ns)
        return associate(session, ns, association)

    return access.write_unique(deps.db, txn, "That resource type association")


def delete_association(deps: Deps, ctx: RequestContext, namespace: str, name: str) -> None:
    def txn(session: Session) -> None:
        ns = access.load(session, ctx, namespace)
        access.authorize(ctx, rules.REMOVE_RESOURCE_TYPE, ns)
        kind = session.execute(select(Types).where(Types.name == name)).scalar_one_or_none()
        if kind is None or session.get(Links, (kind.id, ns.id)) is None:
            raise NotFound(
                f"Failed to find resource type {name} associated with namespace {namespace}"
            )
        session.execute(
            delete(Links).where(Links.resource_type_id == kind.id, Links.namespace_id == ns.id)
        )

    deps.db.write(txn)
