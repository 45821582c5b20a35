"""What the network service layer shares: time, ids, standard attributes, RBAC visibility."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

from sqlalchemy import or_, select, true
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.auth.tokens import TokenPayload
from tinystack.network import models
from tinystack.network.exception import not_found, revision_mismatch


def now() -> dt.datetime:
    """UTC now, whole seconds (what every database stores the same way)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def isotime(value: dt.datetime | None) -> str | None:
    return f"{value:%Y-%m-%dT%H:%M:%SZ}" if value is not None else None


def new_id() -> str:
    return str(uuid.uuid4())


def project_of(ctx: RequestContext) -> str:
    return ctx.project_id or ""


def init_standard(row: Any, description: str | None = "") -> None:
    stamp = now()
    row.created_at = stamp
    row.updated_at = stamp
    row.revision_number = 1
    row.description = description or ""


def standard_attrs(row: Any, tags: bool = True) -> dict[str, Any]:
    out = {
        "description": row.description,
        "created_at": isotime(row.created_at),
        "updated_at": isotime(row.updated_at),
        "revision_number": row.revision_number,
    }
    if tags:
        out["tags"] = list(row.tags or [])
    return out


def bump(row: Any) -> None:
    """Record a change of ``row``: new revision and update time."""
    row.revision_number = (row.revision_number or 0) + 1
    row.updated_at = now()


def check_revision(row: Any, wanted: int | None) -> None:
    if wanted is not None and row.revision_number != wanted:
        raise revision_mismatch(wanted, row.revision_number)


def owner_fields(project_id: str) -> dict[str, str]:
    return {"project_id": project_id, "tenant_id": project_id}


def set_tags(row: Any, tags: list[str]) -> None:
    row.tags = sorted(set(tags))
    bump(row)


def get_row(session: Session, model: Any, resource: str, row_id: str) -> Any:
    row = session.get(model, row_id)
    if row is None:
        raise not_found(resource, row_id)
    return row


def apply_fields(row: Any, values: dict[str, Any], mapping: dict[str, str]) -> bool:
    """Copy API attributes to columns (``mapping``: attribute -> column); True if any changed."""
    changed = False
    for attr, column in mapping.items():
        if attr in values and getattr(row, column) != values[attr]:
            setattr(row, column, values[attr])
            changed = True
    return changed


def rbac_targets(ctx: RequestContext) -> list[str]:
    return [project_of(ctx), "*"]


def shared_ids(
    session: Session, object_type: str, object_ids: list[str], ctx: RequestContext, action: str
) -> set[str]:
    """Which of ``object_ids`` an RBAC ``action`` entry grants to the caller (or to everyone)."""
    if not object_ids:
        return set()
    stmt = select(models.RbacPolicy.object_id).where(
        models.RbacPolicy.object_type == object_type,
        models.RbacPolicy.action == action,
        models.RbacPolicy.object_id.in_(object_ids),
    )
    if not ctx.is_admin:
        stmt = stmt.where(models.RbacPolicy.target_project.in_(rbac_targets(ctx)))
    return set(session.scalars(stmt))


def wildcard_ids(
    session: Session, object_type: str, object_ids: list[str], action: str
) -> set[str]:
    """Which of ``object_ids`` have an RBAC ``action`` entry for every project."""
    if not object_ids:
        return set()
    stmt = select(models.RbacPolicy.object_id).where(
        models.RbacPolicy.object_type == object_type,
        models.RbacPolicy.action == action,
        models.RbacPolicy.target_project == "*",
        models.RbacPolicy.object_id.in_(object_ids),
    )
    return set(session.scalars(stmt))


def visible_clause(
    model: Any, object_type: str, ctx: RequestContext, actions: tuple[str, ...]
) -> Any:
    """SQL condition: owned by the caller or granted to it by RBAC (admins see everything)."""
    if ctx.is_admin:
        return true()
    granted = select(models.RbacPolicy.object_id).where(
        models.RbacPolicy.object_type == object_type,
        models.RbacPolicy.action.in_(actions),
        models.RbacPolicy.target_project.in_(rbac_targets(ctx)),
    )
    return or_(model.project_id == project_of(ctx), model.id.in_(granted))


def internal_context(project_id: str | None = None) -> RequestContext:
    """An admin context for the service's own work (RPC from agents, bootstrap)."""
    payload = TokenPayload(
        user_id="network-internal",
        methods=("internal",),
        expires_at=time.time() + 86400 * 365,
        project_id=project_id,
        roles=(("admin", "admin"), ("member", "member"), ("reader", "reader")),
    )
    return RequestContext(request_id="req-network-internal", payload=payload)


def allow_all(target: dict[str, Any]) -> None:
    """A policy check that allows everything (the service acting on its own)."""


def shared_for(
    session: Session, object_type: str, object_ids: list[str], ctx: RequestContext | None
) -> set[str]:
    """Which objects are shared with the caller's project (or with every project)."""
    if ctx is None:
        return wildcard_ids(session, object_type, object_ids, "access_as_shared")
    if not object_ids:
        return set()
    stmt = select(models.RbacPolicy.object_id).where(
        models.RbacPolicy.object_type == object_type,
        models.RbacPolicy.action == "access_as_shared",
        models.RbacPolicy.object_id.in_(object_ids),
        models.RbacPolicy.target_project.in_(rbac_targets(ctx)),
    )
    return set(session.scalars(stmt))
