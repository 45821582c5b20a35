"""Frozen records the service layer returns, built from ORM rows column by column."""

from __future__ import annotations

from dataclasses import fields
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


@cache
def _names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def from_row(cls: type[R], row: Any) -> R:
    """A ``cls`` record of the attributes of ``row`` that ``cls`` names."""
    return cls(**{name: getattr(row, name) for name in _names(cls)})
