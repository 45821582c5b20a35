"""The REST clients against scripted services (httpx.MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tinystack.common.clients.placement import PlacementClient
from tinystack.common.clients.session import (
    ClientConflict,
    ClientError,
    ClientNotFound,
    EndpointNotFound,
    Session,
)
from tinystack.common.service import CatalogEntry, ServiceCredentials

Handler = Callable[[httpx.Request], httpx.Response]


def session(handler: Handler, catalog: bool = True) -> Session:
    entries = [CatalogEntry("placement", "placement", "http://placement")] if catalog else []
    s = Session("http://identity/v3", ServiceCredentials("nova", "pw"), entries)
    s._http = httpx.Client(transport=httpx.MockTransport(handler))
    return s


def token_response(token: str = "t1", catalog: list[Any] | None = None) -> httpx.Response:
    body = {"token": {"expires_at": "2999-01-01T00:00:00.000000Z", "catalog": catalog or []}}
    return httpx.Response(201, json=body, headers={"X-Subject-Token": token})


def test_the_service_token_is_cached_and_reissued_after_401() -> None:
    issued: list[str] = []
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v3/auth/tokens":
            body = json.loads(request.content)
            assert body["auth"]["scope"]["project"]["name"] == "service"
            issued.append(f"t{len(issued) + 1}")
            return token_response(issued[-1])
        seen.append(request.headers["X-Auth-Token"])
        if len(seen) == 2:
            return httpx.Response(401, json={"error": {"message": "expired"}})
        return httpx.Response(200, json={"ok": True})

    s = session(handler)
    s.request("placement", "GET", "/a")
    s.request("placement", "GET", "/b")
    assert issued == ["t1", "t2"]
    assert seen == ["t1", "t1", "t2"]


def test_a_user_token_is_passed_through_and_not_refreshed() -> None:
    calls: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v3/auth/tokens":
            calls.append(("issue", None))
            return token_response("svc")
        # The service's own token rides along (X-Service-Token), as keystonemiddleware
        # expects of service-to-service calls made for a user.
        assert request.headers["X-Auth-Token"] == "user"
        calls.append(("call", request.headers.get("X-Service-Token")))
        return httpx.Response(401, json={"error": {"message": "no"}})

    with pytest.raises(ClientError) as caught:
        session(handler).request("placement", "GET", "/x", token="user")
    assert caught.value.status == 401
    assert calls == [("issue", None), ("call", "svc")]  # the user's token is not re-issued


def test_errors_are_typed_and_carry_the_message() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v3/auth/tokens":
            return token_response()
        if request.url.path == "/missing":
            return httpx.Response(404, json={"errors": [{"detail": "no such provider"}]})
        return httpx.Response(409, json={"conflictingRequest": {"message": "busy"}})

    s = session(handler)
    with pytest.raises(ClientNotFound) as missing:
        s.request("placement", "GET", "/missing")
    assert missing.value.message == "no such provider"
    with pytest.raises(ClientConflict) as conflict:
        s.request("placement", "PUT", "/x")
    assert conflict.value.message == "busy"


def test_endpoints_come_from_the_catalog_or_the_token() -> None:
    catalog = [{"type": "image", "endpoints": [{"interface": "public", "url": "http://img/"}]}]

    def handler(request: httpx.Request) -> httpx.Response:
        return token_response(catalog=catalog)

    s = session(handler, catalog=False)
    assert s.endpoint("image") == "http://img"
    assert session(handler).endpoint("placement") == "http://placement"
    with pytest.raises(EndpointNotFound):
        session(handler).endpoint("volume")


def test_claims_report_capacity_races_as_false() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v3/auth/tokens":
            return token_response()
        assert request.headers["OpenStack-API-Version"] == "placement 1.39"
        body = json.loads(request.content)
        assert body["consumer_type"] == "INSTANCE" and body["consumer_generation"] is None
        return httpx.Response(
            409,
            json={"errors": [{"code": "placement.undefined_code", "detail": "capacity exceeded"}]},
        )

    client = PlacementClient(session(handler))
    assert (
        client.claim("c", {"rp": {"resources": {"VCPU": 1}}}, project_id="p", user_id="u") is False
    )


def test_inventory_writes_retry_lost_generation_races() -> None:
    generations = iter([0, 1])
    puts: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v3/auth/tokens":
            return token_response()
        if request.method == "GET":
            return httpx.Response(200, json={"uuid": "rp", "generation": next(generations)})
        body = json.loads(request.content)
        puts.append(body["resource_provider_generation"])
        if len(puts) == 1:
            return httpx.Response(
                409,
                json={
                    "errors": [
                        {"code": "placement.concurrent_update", "detail": "generation conflict"}
                    ]
                },
            )
        return httpx.Response(200, json={"resource_provider_generation": 2, "inventories": {}})

    client = PlacementClient(session(handler))
    assert client.set_inventories("rp", {"VCPU": {"total": 1}}) == 2
    assert puts == [0, 1]
