"""The service layer's handle on its database: transactions, retries and name caches.

Every public function in ``placement.objects`` takes a :class:`Store` and owns
its transaction: reads run in :meth:`Store.read`, writes in :meth:`Store.write`,
which re-runs the whole transaction when a generation compare-and-swap lost a
race (:class:`RetryTransaction`) and turns persistent losing into a 409
``placement.concurrent_update``.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.placement import models
from tinystack.placement.exception import ConcurrentUpdate, RetryTransaction

LOG = logging.getLogger(__name__)
T = TypeVar("T")

#: the largest value an integer inventory field may take (a signed 32-bit int)
MAX_INT = 2147483647
#: the largest allocation ratio (a single precision float's maximum)
MAX_FLOAT = 3.40282e38


def utcnow() -> datetime:
    """Naive UTC: what the DateTime columns store on every backend."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Options:
    incomplete_project_id: str = "00000000-0000-0000-0000-000000000000"
    incomplete_user_id: str = "00000000-0000-0000-0000-000000000000"
    conflict_retries: int = 10
    max_candidates: int = -1
    randomize_candidates: bool = False


class NameCache:
    """``name <-> id`` of a small, rarely changing table, reloaded on a miss or when stale."""

    def __init__(self, table: sa.Table, ttl: float = 10.0) -> None:
        self._select = sa.select(table.c.id, table.c.name)
        self._ttl = ttl
        self._by_name: dict[str, int] = {}
        self._by_id: dict[int, str] = {}
        self._loaded = 0.0
        self._lock = threading.Lock()

    def _reload(self, session: Session) -> None:
        rows = session.execute(self._select).all()
        with self._lock:
            self._by_name = {name: id_ for id_, name in rows}
            self._by_id = dict(rows)
            self._loaded = time.monotonic()

    def _fresh(self, session: Session) -> None:
        if time.monotonic() - self._loaded > self._ttl:
            self._reload(session)

    def id_of(self, session: Session, name: str) -> int | None:
        self._fresh(session)
        found = self._by_name.get(name)
        if found is None:
            self._reload(session)
            found = self._by_name.get(name)
        return found

    def ids_of(self, session: Session, names: Iterable[str]) -> dict[str, int]:
        """Ids of the names that exist; missing names are left out."""
        wanted = set(names)
        self._fresh(session)
        if not wanted <= self._by_name.keys():
            self._reload(session)
        return {n: self._by_name[n] for n in wanted if n in self._by_name}

    def name_of(self, session: Session, id_: int) -> str:
        self._fresh(session)
        found = self._by_id.get(id_)
        if found is None:
            self._reload(session)
            found = self._by_id.get(id_, f"UNKNOWN_{id_}")
        return found

    def names(self, session: Session) -> dict[int, str]:
        self._fresh(session)
        return dict(self._by_id)

    def invalidate(self) -> None:
        self._loaded = 0.0


class Store:
    def __init__(self, db: Database, options: Options | None = None) -> None:
        self.db = db
        self.options = options or Options()
        self.resource_classes = NameCache(models.RC_TBL)
        self.traits = NameCache(models.TRAIT_TBL)
        self.consumer_types = NameCache(models.CONSUMER_TYPE_TBL)
        #: (table, Keystone id) -> row id of committed project/user rows (never deleted)
        self.external_ids: dict[tuple[str, str], int] = {}

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.db.reader() as session:
            yield session

    def write(self, fn: Callable[[Session], T], *, conflict_message: str = "") -> T:
        """Run ``fn`` in a write transaction; re-run it when it asks to (lost CAS race)."""
        attempts = max(1, self.options.conflict_retries)
        for attempt in range(1, attempts + 1):
            try:
                return self.db.write(fn)
            except RetryTransaction:
                LOG.debug("retrying a placement transaction (attempt %d)", attempt)
            except IntegrityError as exc:
                # A racing writer inserted the same unique row (consumer, project,
                # aggregate, ...) first; the next attempt reads it instead.
                LOG.debug("retrying after an integrity error: %s", exc.orig)
                if attempt == attempts:
                    raise
            time.sleep(0.001 * attempt)
        raise ConcurrentUpdate(
            conflict_message
            or "Another process changed the same resources at the same time; please retry."
        )


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
