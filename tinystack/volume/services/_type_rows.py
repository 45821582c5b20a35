"""Row helpers volume types and group types share: both are named, public or private
kinds with ``key = value`` specs (a volume type's extra specs, a group type's group
specs) in a table keyed by (type id, key)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.timeutils import utcnow
from tinystack.volume import models

R = TypeVar("R", models.VolumeType, models.GroupType)
S = TypeVar("S", models.VolumeTypeExtraSpec, models.GroupTypeSpec)


class TypeChanges(Protocol):
    """An update of a type: None leaves a field as it is."""

    @property
    def name(self) -> str | None: ...
    @property
    def description(self) -> str | None: ...
    @property
    def is_public(self) -> bool | None: ...


def name_taken(session: Session, model: type[R], name: str) -> bool:
    return session.scalars(select(model.id).where(model.name == name)).first() is not None


def add_type(
    session: Session,
    model: type[R],
    spec_model: type[S],
    name: str,
    description: str | None,
    is_public: bool,
    specs: Mapping[str, str],
) -> R:
    """A new type row with its specs (flushed)."""
    row = model(
        id=str(uuid.uuid4()),
        name=name,
        description=description,
        is_public=is_public,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    set_specs(session, spec_model, row.id, specs)
    session.flush()
    return row


def set_specs(
    session: Session, spec_model: type[S], type_id: str, specs: Mapping[str, str]
) -> None:
    """Create or update the keys of ``specs``."""
    fk = "volume_type_id" if spec_model is models.VolumeTypeExtraSpec else "group_type_id"
    for key, value in specs.items():
        spec = session.get(spec_model, (type_id, key))
        if spec is None:
            session.add(spec_model(**{fk: type_id, "key": key, "value": value}))
        else:
            spec.value = value


def apply_changes(session: Session, row: R, changes: TypeChanges) -> None:
    """Set what ``changes`` names (a new name was checked free by the caller); flushed."""
    if changes.name is not None:
        row.name = changes.name
    if changes.description is not None:
        row.description = changes.description
    if changes.is_public is not None:
        row.is_public = changes.is_public
    row.updated_at = utcnow()
    session.flush()
