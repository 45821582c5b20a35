"""A new connection waits a bounded time for a database server that is restarting.

Regression (chaos, MariaDB killed and restarted under load): every request that needed
a new connection while the server was away answered 500; now it waits up to
``CONNECT_WAIT`` seconds and succeeds once the server is back (or gets a 503)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tinystack.common import db


class OperationalError(Exception):
    pass


def _dialect(failures: list[str]) -> Any:
    def connect(*args: Any, **kwargs: Any) -> str:
        if failures:
            raise OperationalError(failures.pop(0))
        return "connection"

    return SimpleNamespace(
        loaded_dbapi=SimpleNamespace(connect=connect, OperationalError=OperationalError)
    )


def test_a_refused_connection_is_retried_until_the_server_is_back() -> None:
    refused = ['(2003, "Can\'t connect to MySQL server (111 Connection refused)")'] * 3
    assert db._connect_waiting(_dialect(refused), None, (), {}) == "connection"


def test_waiting_is_bounded_and_never_for_bad_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(OperationalError):
        db._connect_waiting(_dialect(["(1045, 'Access denied for user')", ""]), None, (), {})
    monkeypatch.setattr(db, "CONNECT_WAIT", 0.5)
    with pytest.raises(OperationalError):
        db._connect_waiting(_dialect(["refused"] * 100), None, (), {})
