"""Route-walking meta-tests of the Swift API: the shape checks (tests/routecheck.py),
every protected route demands a token, a token without an operator role on the account's
project is refused before any storage node is asked, /info is public."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tests import routecheck
from tests.routecheck import RouteRules, endpoints
from tests.support import make_runtime, make_token
from tinystack.common.service import Runtime
from tinystack.object_store import policies
from tinystack.object_store.service import SERVICE

BODILESS = frozenset({
    ("POST", "/v1/{account}"),
    ("PUT", "/v1/{account}/{container}"),
    ("POST", "/v1/{account}/{container}"),
    ("POST", "/v1/{account}/{container}/{obj:path}"),
})  # fmt: skip


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    overrides = {
        "object_store.part_power": 4,
        # no storage servers here: every port refuses
        "object_store.object_port": 1,
        "object_store.container_port": 1,
        "object_store.account_port": 1,
    }
    return make_runtime(Path(tmp_path_factory.mktemp("routes")), SERVICE, overrides=overrides)


@pytest.fixture(scope="module")
def app(runtime: Runtime) -> Any:
    return SERVICE.create_app(runtime)


@pytest.fixture(scope="module")
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def concrete(path: str, account: str = "AUTH_p1") -> str:
    path = path.replace("{account}", account)
    return re.sub(r"\{[^}]+\}", "x", path)


def test_the_shape_checks(app: Any) -> None:
    rules = RouteRules(rules=frozenset(r.name for r in policies.list_rules()), bodiless=BODILESS)
    routecheck.check(app, rules)


def test_every_protected_route_needs_a_token(app: Any, client: TestClient) -> None:
    for route in endpoints(app):
        if route.extra.get("x-public"):
            continue
        response = client.request(route.method, concrete(route.path))
        assert response.status_code == 401, f"{route}: {response.status_code}"
        if route.method != "HEAD":
            assert "<h1>Unauthorized</h1>" in response.text


def test_only_the_projects_operators_own_its_account(
    app: Any, client: TestClient, runtime: Runtime
) -> None:
    cases = [
        (make_token(runtime, roles=[], project_id="p1"), "AUTH_p1", 403),
        (make_token(runtime, roles=["reader"], project_id="p1"), "AUTH_p1", 403),
        (make_token(runtime, roles=["member"], project_id="p2"), "AUTH_p1", 403),
        (make_token(runtime, roles=["admin"], project_id="p2"), "AUTH_p1", 403),
        (make_token(runtime, roles=["member"], project_id="p1"), "OTHER_p1", 404),
    ]
    for token, account, status in cases:
        for route in endpoints(app):
            if route.extra.get("x-public"):
                continue
            response = client.request(
                route.method, concrete(route.path, account), headers={"X-Auth-Token": token}
            )
            assert response.status_code == status, f"{route} {account}: {response.text}"


def test_info_is_public(client: TestClient) -> None:
    response = client.get("/info")
    trans_id = response.headers["x-trans-id"]
    assert re.match(r"^tx[0-9a-f]{21}-[0-9a-f]{10}$", trans_id)
    assert response.headers["x-openstack-request-id"] == trans_id
    info = response.json()
    assert info["swift"]["max_object_name_length"] == 1024
    assert info["swift"]["container_listing_limit"] == 10000
    assert client.get("/healthcheck").text == "OK"
