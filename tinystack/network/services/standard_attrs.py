"""Neutron's standard attributes on rows: description, created/updated times, revision, tags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from tinystack.common.timeutils import utcnow
from tinystack.network.exception import not_found, revision_mismatch


def init_standard(row: Any, description: str | None = "") -> None:
    stamp = utcnow(whole_seconds=True)
    row.created_at = stamp
    row.updated_at = stamp
    row.revision_number = 1
    row.description = description or ""


def bump(row: Any) -> None:
    """Record a change of ``row``: new revision and update time."""
    row.revision_number = (row.revision_number or 0) + 1
    row.updated_at = utcnow(whole_seconds=True)


def apply_given(
    row: Any,
    changes: Any,
    columns: tuple[str, ...],
    convert: Callable[[Any], Any] = lambda value: value,
) -> bool:
    """Set on ``row`` each of ``columns`` the update gives (``changes.given``) with a new
    value, as ``convert`` makes it; whether any changed (the caller then bumps the row)."""
    changed = False
    for column in columns:
        value = getattr(changes, column)
        if column in changes.given and getattr(row, column) != value:
            setattr(row, column, convert(value))
            changed = True
    return changed


def check_revision(row: Any, wanted: int | None) -> None:
    if wanted is not None and row.revision_number != wanted:
        raise revision_mismatch(wanted, row.revision_number)


def set_tags(row: Any, tags: list[str]) -> None:
    row.tags = sorted(set(tags))
    bump(row)


def get_row(session: Session, model: Any, resource: str, row_id: str) -> Any:
    row = session.get(model, row_id)
    if row is None:
        raise not_found(resource, row_id)
    return row
