"""Row-level helpers the metering service modules share (``_``-named: they take and
return ORM rows): who sees a label or rule, a label's row, the routers it reaches."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, true
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import NotFound
from tinystack.network import models
from tinystack.network.services.visibility import project_of


def label_not_found(label_id: str) -> NotFound:
    return NotFound(f"Metering label {label_id} does not exist.", code="MeteringLabelNotFound")


def visible_clause(model: Any, ctx: RequestContext) -> Any:
    """Admins see everything; a project its own labels and rules, and shared labels
    (not their rules: what another project counts is its own business)."""
    if ctx.is_admin:
        return true()
    if model is models.MeteringLabel:
        return or_(model.project_id == project_of(ctx), model.shared.is_(True))
    return model.project_id == project_of(ctx)


def label_row(session: Session, ctx: RequestContext, label_id: str) -> models.MeteringLabel:
    row = session.get(models.MeteringLabel, label_id)
    if row is None or not (ctx.is_admin or row.shared or row.project_id == project_of(ctx)):
        raise label_not_found(label_id)
    return row


def routers_of(session: Session, label: models.MeteringLabel) -> list[str]:
    """The routers a label applies to: its project's, or every router when shared."""
    stmt = select(models.Router.id)
    if not label.shared:
        stmt = stmt.where(models.Router.project_id == label.project_id)
    return sorted(session.scalars(stmt))
