"""The request body limit of every API (``common/api/body_limit.py``): 413 in the
service's error shape, declared or chunked, configurable, streaming uploads exempt."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from tinystack.common.api.app import create_app
from tinystack.common.api.body_limit import DEFAULT_LIMIT


def _client(style: str, limit: int | None = None) -> TestClient:
    state = {} if limit is None else {"max_request_body_size": limit}
    app = create_app(
        title="t", version="1", style=style, state=state,
        streams=lambda method, path: method == "PUT" and path.endswith("/file"),
    )  # fmt: skip

    @app.post("/things")
    async def create(request: Request) -> dict[str, Any]:
        return {"size": len(await request.body())}

    @app.put("/things/{thing}/file")
    async def upload(request: Request) -> dict[str, Any]:
        return {"size": len(await request.body())}

    return TestClient(app)


def _chunks(total: int, size: int = 8192) -> Iterator[bytes]:
    while total > 0:
        yield b"x" * min(size, total)
        total -= size


#: where each API's error body keeps the 413's message
SHAPES = {
    "identity": lambda b: b["error"]["code"] == 413 and b["error"]["message"],
    "compute": lambda b: b["overLimit"]["code"] == 413 and b["overLimit"]["message"],
    "network": lambda b: b["NeutronError"]["message"],
    "placement": lambda b: b["errors"][0]["status"] == 413 and b["errors"][0]["detail"],
    "load_balancer": lambda b: b["faultstring"],
    "volume": lambda b: b["overLimit"]["code"] == 413 and b["overLimit"]["message"],
    "metric": lambda b: b["code"] == 413 and b["description"],
    "dashboard": lambda b: b["detail"],
}


@pytest.mark.parametrize("style", sorted(SHAPES))
def test_over_the_limit_is_413_in_the_service_shape(style: str) -> None:
    with _client(style) as client:
        at_limit = client.post("/things", content=b"x" * DEFAULT_LIMIT)
        assert at_limit.status_code == 200 and at_limit.json() == {"size": DEFAULT_LIMIT}
        over = client.post("/things", content=b"x" * (DEFAULT_LIMIT + 1))
        assert over.status_code == 413
        assert SHAPES[style](over.json()) == "Request is too large."
        assert over.headers["x-openstack-request-id"].startswith("req-")


def test_chunked_bodies_are_counted_and_small_ones_replayed() -> None:
    with _client("identity", limit=20000) as client:
        small = client.post("/things", content=_chunks(19000))
        assert small.status_code == 200 and small.json() == {"size": 19000}
        big = client.post("/things", content=_chunks(30000))
        assert big.status_code == 413 and big.json()["error"]["title"] == (
            "Request Entity Too Large"
        )


def test_limit_is_configurable_and_uploads_stream_unlimited() -> None:
    with _client("image", limit=100) as client:
        refused = client.post("/things", content=b"x" * 101)
        assert refused.status_code == 413
        assert refused.text.startswith("413 Request Entity Too Large\n\nRequest is too large.")
        assert client.post("/things", content=b"x" * 100).status_code == 200
        upload = client.put("/things/a/file", content=_chunks(DEFAULT_LIMIT * 3))
        assert upload.status_code == 200 and upload.json() == {"size": DEFAULT_LIMIT * 3}
    with _client("identity", limit=0) as client:  # 0: no limit
        assert client.post("/things", content=b"x" * (DEFAULT_LIMIT * 2)).status_code == 200
