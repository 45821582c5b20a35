"""Neutron's standard attributes: description, created/updated times, revision, tags."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tinystack.common.timeutils import isotime, utcnow
from tinystack.network.exception import not_found, revision_mismatch


def init_standard(row: Any, description: str | None = "") -> None:
    stamp = utcnow(whole_seconds=True)
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
    row.updated_at = utcnow(whole_seconds=True)


def check_revision(row: Any, wanted: int | None) -> None:
    if wanted is not None and row.revision_number != wanted:
        raise revision_mismatch(wanted, row.revision_number)


def owner_fields(project_id: str) -> dict[str, str]:
    return {"project_id": project_id, "tenant_id": project_id}


def set_tags(row: Any, tags: list[str]) -> None:
    row.tags = sorted(set(tags))
    bump(row)


def apply_fields(row: Any, values: dict[str, Any], mapping: dict[str, str]) -> bool:
    """Copy API attributes to columns (``mapping``: attribute -> column); True if any changed."""
    changed = False
    for attr, column in mapping.items():
        if attr in values and getattr(row, column) != values[attr]:
            setattr(row, column, values[attr])
            changed = True
    return changed


def get_row(session: Session, model: Any, resource: str, row_id: str) -> Any:
    row = session.get(model, row_id)
    if row is None:
        raise not_found(resource, row_id)
    return row
