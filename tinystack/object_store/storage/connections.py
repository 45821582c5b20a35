"""Open SQLite connections to the account and container databases, kept between requests.

Opening a database per request cost more than the request: the connect and its pragmas,
and, in WAL mode, the close of the last connection checkpoints the log into the database
(with an fsync) and deletes it, so every object row written paid a checkpoint. Idle
connections wait here, a few per database for the most recently used databases; one is
handed out only while its file is still the same inode (a database replaced or removed
by replication, or a device emptied, gets a fresh connection)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

#: databases whose idle connections are kept (least recently used ones are closed)
DATABASES = 256
#: idle connections kept per database
IDLE = 4

_Ident = tuple[int, int]
_idle: OrderedDict[str, list[tuple[_Ident, sqlite3.Connection]]] = OrderedDict()
_guard = threading.Lock()


Prepare = Callable[[sqlite3.Connection], None]


def _open(path: str, prepare: Prepare | None) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    if prepare is not None:
        try:
            prepare(conn)
        except BaseException:
            conn.close()
            raise
    return conn


def _checkout(
    key: str, ident: _Ident
) -> tuple[sqlite3.Connection | None, list[sqlite3.Connection]]:
    stale: list[sqlite3.Connection] = []
    with _guard:
        idle = _idle.get(key)
        while idle:
            got, conn = idle.pop()
            if got == ident:
                return conn, stale
            stale.append(conn)
    return None, stale


def _checkin(key: str, ident: _Ident, conn: sqlite3.Connection) -> list[sqlite3.Connection]:
    evicted: list[sqlite3.Connection] = []
    with _guard:
        idle = _idle.setdefault(key, [])
        _idle.move_to_end(key)
        if len(idle) < IDLE:
            idle.append((ident, conn))
        else:
            evicted.append(conn)
        while len(_idle) > DATABASES:
            _, dropped = _idle.popitem(last=False)
            evicted += [c for _, c in dropped]
    return evicted


@contextlib.contextmanager
def connection(path: Path, prepare: Prepare | None = None) -> Iterator[sqlite3.Connection]:
    """A connection to the database at ``path`` (autocommit; ``BEGIN`` for more), back
    to the idle ones afterwards unless it failed. ``prepare`` runs on each connection
    opened (a schema check)."""
    key = str(path)
    try:
        st = os.stat(key)
    except FileNotFoundError:
        conn = _open(key, None)  # as sqlite3.connect: the caller finds no tables
        try:
            yield conn
        finally:
            conn.close()
        return
    ident = (st.st_dev, st.st_ino)
    found, stale = _checkout(key, ident)
    for old in stale:
        old.close()
    conn = found if found is not None else _open(key, prepare)
    try:
        yield conn
    except BaseException:
        conn.close()
        raise
    if conn.in_transaction:  # left open by the caller: not reusable
        conn.rollback()
    for old in _checkin(key, ident, conn):
        old.close()


def close_all() -> None:
    """Close every idle connection (a stopping node; tests)."""
    with _guard:
        idle = [c for conns in _idle.values() for _, c in conns]
        _idle.clear()
    for conn in idle:
        conn.close()
