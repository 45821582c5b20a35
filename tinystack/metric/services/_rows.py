"""Row loaders the service modules share (each raises the API's 404), and the resource
record, built in one place."""

from __future__ import annotations

import fnmatch
import uuid

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.metric import models
from tinystack.metric.policies import metrics as metric_rules
from tinystack.metric.services.records import ResourceRecord

GENERIC = "generic"
#: Gnocchi's namespace for resource ids that are not UUIDs
RESOURCE_ID_NAMESPACE = uuid.UUID("0a7a15ff-aa13-4ac2-897c-9bdf30ce175b")


def resource_record(session: Session, row: models.Resource) -> ResourceRecord:
    names = session.execute(
        select(models.Metric.name, models.Metric.id).where(models.Metric.resource_id == row.id)
    )
    return ResourceRecord(
        id=row.id,
        original_resource_id=row.original_resource_id,
        type=row.type,
        project_id=row.project_id,
        user_id=row.user_id,
        created_by_user_id=row.created_by_user_id,
        created_by_project_id=row.created_by_project_id,
        started_at=row.started_at,
        revision_start=row.revision_start,
        ended_at=row.ended_at,
        attributes=dict(row.attributes),
        metrics={str(name): mid for name, mid in names},
    )


def archive_policy(session: Session, name: str) -> models.ArchivePolicy:
    row = session.get(models.ArchivePolicy, name)
    if row is None:
        raise NotFound(f"Archive policy {name} does not exist")
    return row


def resource_type(session: Session, name: str) -> models.ResourceType:
    row = session.get(models.ResourceType, name)
    if row is None:
        raise NotFound(f"Resource type {name} does not exist")
    return row


def resource_uuid(value: str, creator: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        if not value or "/" in value or len(value) > 255:
            raise BadRequest(f"Invalid input: invalid resource id {value!r}") from None
        return str(uuid.uuid5(RESOURCE_ID_NAMESPACE, value + "\x00" + creator))


def resource(session: Session, rtype: str, resource_id: str, creator: str = "") -> models.Resource:
    """The resource of type ``rtype`` (or a subtype for ``generic``) by id or original id."""
    try:
        rid = resource_uuid(resource_id, creator)
    except BadRequest:
        raise NotFound(f"Resource {resource_id} does not exist") from None
    row = (
        session.get(models.Resource, rid)
        or session.scalars(
            select(models.Resource).where(models.Resource.original_resource_id == resource_id)
        ).first()
    )
    if row is None or (rtype != GENERIC and row.type != rtype):
        raise NotFound(f"Resource {resource_id} does not exist")
    return row


def metric_target(row: models.Metric, resource: models.Resource | None) -> dict[str, object]:
    return {
        "created_by_project_id": row.created_by_project_id,
        "created_by_user_id": row.created_by_user_id,
        "resource.project_id": resource.project_id if resource is not None else None,
        "resource.user_id": resource.user_id if resource is not None else None,
    }


def named_metrics(session: Session) -> list[tuple[models.Metric, models.Resource]]:
    """Every named metric of a resource with its resource (the Prometheus series)."""
    rows = session.execute(
        select(models.Metric, models.Resource)
        .join(models.Resource, models.Metric.resource_id == models.Resource.id)
        .where(models.Metric.name.is_not(None))
    )
    return [(metric, resource) for metric, resource in rows]


def metric(session: Session, metric_id: str) -> models.Metric:
    try:
        uuid.UUID(metric_id)
    except ValueError:
        raise NotFound(f"Metric {metric_id} does not exist") from None
    row = session.get(models.Metric, metric_id)
    if row is None:
        raise NotFound(f"Metric {metric_id} does not exist")
    return row


def authorized_metric(
    session: Session, ctx: RequestContext, metric_id: str, rule: str
) -> models.Metric:
    """The metric, once ``rule`` allows the caller (404 when it may not even see it)."""
    row = metric(session, metric_id)
    resource = session.get(models.Resource, row.resource_id) if row.resource_id else None
    if not ctx.allowed(metric_rules.GET, metric_target(row, resource)):
        raise NotFound(f"Metric {metric_id} does not exist")
    ctx.can(rule, metric_target(row, resource))
    return row


def metric_of_resource(
    session: Session, ctx: RequestContext, resource: models.Resource, name: str, rule: str
) -> models.Metric:
    row = session.scalars(
        select(models.Metric).where(
            models.Metric.resource_id == resource.id, models.Metric.name == name
        )
    ).first()
    if row is None:
        raise NotFound(f"Metric {name} does not exist")
    ctx.can(rule, metric_target(row, resource))
    return row


def policy_for(session: Session, metric_name: str | None) -> models.ArchivePolicy:
    """The archive policy of the longest rule pattern matching ``metric_name``."""
    rules = session.scalars(select(models.ArchivePolicyRule)).all()
    for rule in sorted(rules, key=lambda r: (-len(r.metric_pattern), r.name)):
        if fnmatch.fnmatch(metric_name or "", rule.metric_pattern):
            return archive_policy(session, rule.archive_policy_name)
    raise BadRequest(f"No archive policy name specified and no archive policy rule found "
                     f"matching the metric name {metric_name}")  # fmt: skip


def visible(session: Session, ctx: RequestContext, rtype: str) -> list[models.Resource]:
    """Resources of ``rtype`` (every type for ``generic``), oldest first; a caller who
    is not admin sees those of its project and those its project created."""
    resource_type(session, rtype)
    stmt = select(models.Resource).order_by(models.Resource.started_at, models.Resource.id)
    if rtype != GENERIC:
        stmt = stmt.where(models.Resource.type == rtype)
    if not ctx.is_admin:
        stmt = stmt.where(
            or_(
                models.Resource.project_id == ctx.project_id,
                models.Resource.created_by_project_id == ctx.project_id,
            )
        )
    return list(session.scalars(stmt))
