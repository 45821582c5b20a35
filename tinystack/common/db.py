"""Database access: one :class:`Database` per service, SQLite/MariaDB/PostgreSQL by URL.

SQLite (the embedded default) runs in WAL mode. Concurrent writers inside one
process are serialized by a lock and every write transaction starts with
``BEGIN IMMEDIATE`` with a long busy timeout, so a write waits for another
process's write instead of failing with "database is locked". On MariaDB and
PostgreSQL, :meth:`Database.write` retries transactions that lost a deadlock or
a serialization race, and a new connection waits ``CONNECT_WAIT`` seconds for a server
that refuses connections (a restart); what still fails is a 503 with Retry-After
(``common/api/app.py``).

The service layer owns transactions: handlers never see a session.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool

from tinystack.common import metrics, migration

LOG = logging.getLogger(__name__)
T = TypeVar("T")

# MySQL 1213 deadlock, 1205 lock wait timeout; PostgreSQL 40001/40P01.
_RETRYABLE = ("1213", "1205", "40001", "40P01", "deadlock", "could not serialize")


#: how long a new connection waits for a database server that refuses connections
#: (restarting): a request then succeeds once it is back, or fails after this (503)
CONNECT_WAIT = 10.0
#: connection failures waiting cannot cure
_FINAL = ("denied", "authentication", "unknown database", "does not exist")


def _connect_waiting(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
    """Open a DBAPI connection, retried with backoff for ``CONNECT_WAIT`` seconds."""
    deadline = time.monotonic() + CONNECT_WAIT
    delay = 0.1
    while True:
        try:
            return dialect.loaded_dbapi.connect(*cargs, **cparams)
        except dialect.loaded_dbapi.OperationalError as exc:
            if any(word in str(exc).lower() for word in _FINAL):
                raise
            if time.monotonic() + delay > deadline:
                raise
            LOG.warning("database unreachable (%s); retrying in %.1fs", exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


class Base(DeclarativeBase):
    """Shared declarative base; each service keeps its own tables and metadata."""


def _is_retryable(exc: DBAPIError) -> bool:
    text = str(exc.orig) if exc.orig is not None else str(exc)
    code = getattr(exc.orig, "sqlstate", None) or ""
    return any(marker in text or marker == code for marker in _RETRYABLE)


class Database:
    """An engine plus reader/writer sessions for one service."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._write_lock = threading.RLock() if self.is_sqlite else None
        self.engine = self._make_engine(url, echo)
        self._time_statements(self.engine, make_url(url).database or url)
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False)

    @staticmethod
    def _time_statements(engine: Engine, database: str) -> None:
        """Each statement's duration into the process's metrics (``/metrics``)."""
        name = database.rsplit("/", 1)[-1].removesuffix(".sqlite")

        @event.listens_for(engine, "before_cursor_execute")
        def _started(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
            conn.info["tinystack_started"] = time.perf_counter()  # one at a time per connection

        @event.listens_for(engine, "after_cursor_execute")
        def _ended(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
            started = conn.info.pop("tinystack_started", None)
            if started is None:
                return
            kind = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
            metrics.DB.observe((name, kind), time.perf_counter() - started)

    def _make_engine(self, url: str, echo: bool) -> Engine:
        if not self.is_sqlite:
            kwargs: dict[str, Any] = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
            if url.startswith("mysql"):
                kwargs["isolation_level"] = "READ COMMITTED"
            server = create_engine(url, echo=echo, **kwargs)
            event.listen(server, "do_connect", _connect_waiting)
            return server
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 60},
            poolclass=StaticPool if memory else None,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Take transaction control away from the driver: we emit BEGIN ourselves.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            if conn.get_execution_options().get("tinystack_write"):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")

        return engine

    @contextlib.contextmanager
    def reader(self) -> Iterator[Session]:
        """A read session. Closing it ends the transaction; loaded objects stay readable."""
        with self._sessions() as session:
            yield session

    @contextlib.contextmanager
    def writer(self) -> Iterator[Session]:
        """A write transaction, committed on success and rolled back on error."""
        lock = self._write_lock or contextlib.nullcontext()
        with lock:
            bind = self.engine.execution_options(tinystack_write=True)
            with Session(bind=bind, expire_on_commit=False) as session:
                with session.begin():
                    yield session

    def write(self, fn: Callable[[Session], T], *, attempts: int = 5) -> T:
        """Run ``fn`` in a write transaction, retrying lost deadlocks/serialization races."""
        for attempt in range(1, attempts + 1):
            try:
                with self.writer() as session:
                    return fn(session)
            except OperationalError as exc:
                if attempt == attempts or not _is_retryable(exc):
                    raise
                LOG.debug("retrying transaction after %s", exc)
                time.sleep(0.01 * attempt)
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()


def migrate(db: Database, package: str, version_table: str) -> bool:
    """Bring the schema forward with the Alembic scripts in ``package``: to head, or, for
    a service whose revisions fork into expand and contract, only expanded unless the
    database is new (:mod:`tinystack.common.migration`).

    Returns True when migrations ran. Each service has its own version table so
    several services may share one database server schema.
    """
    return migration.upgrade(db, package, version_table)
