"""A service this one needs out of reach (another service, the database, the message
bus): 503 with Retry-After in the API's error style, never a 500 with a stack trace.

Regressions (chaos): ``POST /servers`` answered 500 while the network service was
killed; any request answered 500 while the database server restarted; ``POST /servers``
answered 500 when RabbitMQ's restart outlasted the cast's retries (#18)."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError, OperationalError

from tinystack.common.api.app import create_app
from tinystack.common.clients.session import ClientError
from tinystack.common.rpc.exceptions import MessagingTimeout, TransportError

FAILURES: dict[str, Exception] = {
    "unreachable": ClientError("network", 0, "cannot reach network: connection refused"),
    "failing": ClientError("image", 502, "bad gateway"),
    "refused": ClientError("image", 403, "forbidden"),
    "database": OperationalError("SELECT 1", {}, Exception("(2013, 'Lost connection')")),
    "integrity": IntegrityError("INSERT", {}, Exception("duplicate")),
    "bus": TransportError("cannot publish to RabbitMQ: connection refused"),
    "bus-timeout": MessagingTimeout("reply queue not ready within 30s (broker down?)"),
}


def _client() -> TestClient:
    app = create_app(title="t", version="1", style="compute")
    router = APIRouter()

    @router.get("/{kind}")
    def fail(kind: str) -> None:
        raise FAILURES[kind]

    app.include_router(router)
    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(("kind", "status"), [("unreachable", 503), ("failing", 503),
                         ("database", 503), ("refused", 500), ("integrity", 500),
                         ("bus", 503), ("bus-timeout", 503)])  # fmt: skip
def test_what_is_out_of_reach_is_a_503_with_retry_after(kind: str, status: int) -> None:
    resp = _client().get(f"/{kind}")
    assert resp.status_code == status
    fault = resp.json()["computeFault" if status == 500 else "serviceUnavailable"]
    assert fault["code"] == status and "Traceback" not in resp.text
    assert ("retry-after" in resp.headers) == (status == 503)
