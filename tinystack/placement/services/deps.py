"""The service layer's dependency bundle: database transactions, retries, options, caches.

Every public function in ``placement.services`` takes a :class:`Deps` and owns
its transaction: reads run in :meth:`Deps.read`, writes in :meth:`Deps.write`,
which re-runs the whole transaction when a generation compare-and-swap lost a
race (:class:`RetryTransaction`) and turns persistent losing into a 409
``placement.concurrent_update``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.placement import models
from tinystack.placement.conf import Options
from tinystack.placement.exception import ConcurrentUpdate, RetryTransaction

LOG = logging.getLogger(__name__)
T = TypeVar("T")


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


class Deps:
    """The one dependency bundle: the database, the options and the name caches."""

    def __init__(self, db: Database, opts: Options | None = None) -> None:
        self.db = db
        self.opts = opts or Options()
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
        attempts = max(1, self.opts.conflict_retries)
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
