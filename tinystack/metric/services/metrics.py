"""Metrics: named series of measures, alone or one of a resource's, each with the
archive policy (given, or from the rules by its name) its measures roll up with."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, Conflict
from tinystack.metric import models
from tinystack.metric.policies import metrics as rules
from tinystack.metric.services import _rows, archive_policies
from tinystack.metric.services.deps import Deps
from tinystack.metric.services.records import MetricRecord


@dataclass(frozen=True, slots=True)
class MetricSpec:
    archive_policy_name: str | None = None
    unit: str | None = None
    name: str | None = None
    resource_id: str | None = None


def record(session: Session, row: models.Metric, *, with_resource: bool = True) -> MetricRecord:
    resource = None
    if with_resource and row.resource_id is not None:
        res_row = session.get(models.Resource, row.resource_id)
        resource = _rows.resource_record(session, res_row) if res_row is not None else None
    return MetricRecord(
        id=row.id,
        name=row.name,
        unit=row.unit,
        resource_id=row.resource_id,
        created_by_user_id=row.created_by_user_id,
        created_by_project_id=row.created_by_project_id,
        archive_policy=archive_policies.record(
            _rows.archive_policy(session, row.archive_policy_name)
        ),
        resource=resource,
    )


def _new(session: Session, ctx: RequestContext, spec: MetricSpec) -> models.Metric:
    if spec.archive_policy_name:
        policy = _rows.archive_policy(session, spec.archive_policy_name)
    else:
        policy = _rows.policy_for(session, spec.name)
    if spec.unit is not None and len(spec.unit) > 31:
        raise BadRequest("Invalid input: length of value must be at most 31 for dictionary "
                         "value @ data['unit']")  # fmt: skip
    row = models.Metric(
        id=str(uuid.uuid4()),
        name=spec.name,
        unit=spec.unit,
        resource_id=spec.resource_id,
        archive_policy_name=policy.name,
        created_by_user_id=ctx.user_id,
        created_by_project_id=ctx.project_id,
    )
    session.add(row)
    return row


def attach(
    session: Session,
    ctx: RequestContext,
    resource: models.Resource,
    wanted: dict[str, str | MetricSpec],
) -> None:
    """Give ``resource`` the named metrics: existing ones by id, or new ones."""
    existing = set(
        session.scalars(select(models.Metric.name).where(models.Metric.resource_id == resource.id))
    )
    for name, what in wanted.items():
        if name in existing:
            raise Conflict(f"Named metric {name} already exists")
        if isinstance(what, MetricSpec):
            _new(session, ctx, MetricSpec(what.archive_policy_name, what.unit, name, resource.id))
            continue
        row = session.get(models.Metric, what)
        if row is None:
            raise BadRequest(f"Metric {what} does not exist")
        if row.resource_id is not None:
            raise BadRequest(f"Metric {what} is already attached to a resource")
        row.resource_id, row.name = resource.id, name
    session.flush()


def create(deps: Deps, ctx: RequestContext, spec: MetricSpec) -> MetricRecord:
    def tx(session: Session) -> MetricRecord:
        if spec.resource_id is not None:
            raise BadRequest("Invalid input: create a resource's metric through the resource")
        row = _new(session, ctx, spec)
        session.flush()
        return record(session, row)

    return deps.db.write(tx)


def get(deps: Deps, ctx: RequestContext, metric_id: str) -> MetricRecord:
    with deps.db.reader() as session:
        return record(session, _rows.authorized_metric(session, ctx, metric_id, rules.GET))


#: Gnocchi's ``[api] max_limit``: a larger ``limit`` is clamped to it
MAX_LIMIT = 1000


def list_items(deps: Deps, ctx: RequestContext, limit: int | None) -> list[MetricRecord]:
    """Every metric for an admin (``list all metric``), else those the project created;
    at most ``limit`` of them, clamped to :data:`MAX_LIMIT` as Gnocchi does."""
    with deps.db.reader() as session:
        stmt = select(models.Metric).order_by(models.Metric.id)
        if not ctx.allowed(rules.LIST_ALL, {}):
            stmt = stmt.where(models.Metric.created_by_project_id == ctx.project_id)
        if limit is not None:
            stmt = stmt.limit(min(limit, MAX_LIMIT))
        return [record(session, r, with_resource=False) for r in session.scalars(stmt)]


def delete(deps: Deps, ctx: RequestContext, metric_id: str) -> None:
    def tx(session: Session) -> None:
        row = _rows.authorized_metric(session, ctx, metric_id, rules.DELETE)
        session.execute(sql_delete(models.Split).where(models.Split.metric_id == row.id))
        session.delete(row)

    deps.db.write(tx)


def delete_of_resource(session: Session, resource_id: str) -> None:
    ids = list(
        session.scalars(select(models.Metric.id).where(models.Metric.resource_id == resource_id))
    )
    if ids:
        session.execute(sql_delete(models.Split).where(models.Split.metric_id.in_(ids)))
        session.execute(sql_delete(models.Metric).where(models.Metric.id.in_(ids)))
