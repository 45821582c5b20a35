"""The revocation poller goes through the one service-token Session."""

from __future__ import annotations

import json

import httpx

from tinystack.common.auth.poller import RevocationPoller
from tinystack.common.auth.revocation import RevocationList
from tinystack.common.clients.session import Session
from tinystack.common.cloud import ServiceCredentials

EVENT = {"user_id": "u1", "issued_before": "2026-01-01T00:00:00.000000Z"}


def poller(handler: httpx.MockTransport, revocations: RevocationList) -> RevocationPoller:
    session = Session("http://identity:5000/v3", ServiceCredentials("placement", "pw"))
    session._http = httpx.Client(transport=handler)
    return RevocationPoller(session, revocations)


def test_poll_replaces_the_list_with_identitys_events_and_reuses_the_token() -> None:
    calls: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append((request.url.path, request.headers.get("X-Auth-Token")))
        if request.url.path == "/v3/auth/tokens":
            body = json.loads(request.content)
            assert body["auth"]["identity"]["password"]["user"]["name"] == "placement"
            expires = {"expires_at": "2999-01-01T00:00:00.000000Z", "catalog": []}
            return httpx.Response(201, json={"token": expires}, headers={"X-Subject-Token": "t1"})
        return httpx.Response(200, json={"events": [EVENT]})

    revocations = RevocationList()
    p = poller(httpx.MockTransport(handler), revocations)
    assert p.poll_once() == 1
    assert p.poll_once() == 1
    assert len(revocations) == 1
    assert revocations.events()[0].user_id == "u1"
    assert calls == [
        ("/v3/auth/tokens", None),
        ("/v3/OS-REVOKE/events", "t1"),
        ("/v3/OS-REVOKE/events", "t1"),
    ]


def test_an_expired_service_token_is_reissued_once() -> None:
    issued: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v3/auth/tokens":
            issued.append(f"t{len(issued) + 1}")
            expires = {"expires_at": "2999-01-01T00:00:00.000000Z", "catalog": []}
            return httpx.Response(
                201, json={"token": expires}, headers={"X-Subject-Token": issued[-1]}
            )
        if request.headers["X-Auth-Token"] == "t1":
            return httpx.Response(401, json={"error": {"message": "expired"}})
        return httpx.Response(200, json={"events": []})

    p = poller(httpx.MockTransport(handler), RevocationList())
    assert p.poll_once() == 0
    assert issued == ["t1", "t2"]
