"""The resource record, built in one place (resources and metrics both render it)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.metric import models
from tinystack.metric.services.records import ResourceRecord


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
