"""Who sees what: ownership and RBAC grants (``access_as_shared``/``_external``), and the
writes that share a resource with every project or drop its grants when it goes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select, true
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.timeutils import new_uuid
from tinystack.network import models


def project_of(ctx: RequestContext) -> str:
    return ctx.project_id or ""


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


def set_shared(session: Session, object_type: str, row: Any, shared: bool) -> None:
    """Create or remove the wildcard ``access_as_shared`` entry of an object."""
    stmt = select(models.RbacPolicy).where(
        models.RbacPolicy.object_type == object_type,
        models.RbacPolicy.object_id == row.id,
        models.RbacPolicy.action == "access_as_shared",
        models.RbacPolicy.target_project == "*",
    )
    existing = session.scalars(stmt).first()
    if shared and existing is None:
        session.add(
            models.RbacPolicy(
                id=new_uuid(),
                project_id=row.project_id,
                object_type=object_type,
                object_id=row.id,
                action="access_as_shared",
                target_project="*",
            )
        )
    elif not shared and existing is not None:
        session.delete(existing)


def drop_grants(session: Session, object_type: str, object_id: str) -> None:
    """Delete every RBAC entry of an object (it is being deleted)."""
    session.execute(
        delete(models.RbacPolicy).where(
            models.RbacPolicy.object_type == object_type,
            models.RbacPolicy.object_id == object_id,
        )
    )
