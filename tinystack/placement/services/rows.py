"""Row writes every service module shares: an INSERT's new id, the generation CAS."""

from __future__ import annotations

import functools
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from tinystack.common.timeutils import utcnow
from tinystack.placement.exception import RetryTransaction

#: the largest value an integer inventory field may take (a signed 32-bit int)
MAX_INT = 2147483647
#: the largest allocation ratio (a single precision float's maximum)
MAX_FLOAT = 3.40282e38


def insert_id(session: Session, stmt: sa.Insert) -> int:
    """Execute an INSERT and return the new row's primary key."""
    result = cast("CursorResult[Any]", session.execute(stmt))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


@functools.cache
def _bump_statement(table: sa.Table) -> sa.Update:
    return (
        table.update()
        .where(table.c.id == sa.bindparam("row_id"), table.c.generation == sa.bindparam("old"))
        .values(generation=sa.bindparam("new"), updated_at=sa.bindparam("now"))
    )


def bump_generation(session: Session, table: sa.Table, id_: int, generation: int) -> int:
    """Compare-and-swap ``generation`` on one row; ask for a retry when it moved."""
    result = session.execute(
        _bump_statement(table),
        {"row_id": id_, "old": generation, "new": generation + 1, "now": utcnow()},
    )
    if getattr(result, "rowcount", 1) != 1:
        raise RetryTransaction()
    return generation + 1
