"""Throwaway databases on the MariaDB and PostgreSQL servers that run beside the tests.

Use ``BACKENDS`` as the params of a module-scoped fixture and :func:`database` to get a
uniquely named database that is dropped afterwards; the test is skipped with a reason when
the server is not reachable.
"""

from __future__ import annotations

import contextlib
import socket
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

SERVERS = {
    "mysql": ("127.0.0.1", 3306, "mysql+pymysql://root@127.0.0.1:3306", ""),
    "postgres": ("127.0.0.1", 5432, "postgresql+psycopg://postgres@127.0.0.1:5432", "/postgres"),
}
BACKENDS = [
    pytest.param("mysql", marks=pytest.mark.mysql),
    pytest.param("postgres", marks=pytest.mark.postgres),
]


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def database(kind: str, prefix: str) -> Iterator[str]:
    """Create ``<prefix>_<random>`` on the ``kind`` server, yield its URL, drop it."""
    host, port, server, admin_db = SERVERS[kind]
    if not _listening(host, port):
        pytest.skip(f"no {kind} server listening on {host}:{port}")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server + admin_db, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"{kind} server unusable: {exc.orig}")
    try:
        yield f"{server}/{name}"
    finally:
        force = " WITH (FORCE)" if kind == "postgres" else ""
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}{force}"))
        admin.dispose()
