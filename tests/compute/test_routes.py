"""Route-walking meta-tests: every route declares its policies (and they exist), no route
is shadowed by a duplicate, every protected route demands a token, and a token without
roles never gets further than a refusal."""

from __future__ import annotations

import re
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tests.routecheck import Endpoint, endpoints
from tests.support import make_runtime, make_token
from tinystack.common.api.openapi import REQUEST_MODEL
from tinystack.common.service import Runtime
from tinystack.compute import policies
from tinystack.compute.api.server_actions import ACTIONS
from tinystack.compute.service import SERVICE


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    return make_runtime(Path(tmp_path_factory.mktemp("routes")), SERVICE)


@pytest.fixture(scope="module")
def app(runtime: Runtime) -> Any:
    return SERVICE.create_app(runtime)


@pytest.fixture(scope="module")
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def routes(app: Any) -> list[Endpoint]:
    """Every (method, path) of the app, included routers too, in matching order."""
    found = endpoints(app)
    assert len(found) > 100, f"the route walk saw only {len(found)} routes"
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: str(uuid.uuid4()), path)


def test_every_route_declares_registered_policies(app: Any) -> None:
    registered = {r.name for r in policies.list_rules()}
    for route in routes(app):
        extra = route.extra
        if extra.get("x-public"):
            continue
        assert "x-policies" in extra, f"{route} declares no policies"
        for rule in extra["x-policies"]:
            assert rule in registered, f"{route}: unknown rule {rule}"
        if extra.get("x-action-registry"):
            for action in ACTIONS.values():
                assert action.policy in registered, f"action {action.name}: {action.policy}"


def test_no_route_is_shadowed(app: Any) -> None:
    seen: set[tuple[str, str]] = set()
    for route in routes(app):
        key = (route.path, route.method)
        assert key not in seen, f"duplicate route {key}"
        seen.add(key)


def test_action_registry_covers_the_issue_list() -> None:
    wanted = {
        "reboot", "os-stop", "os-start", "pause", "unpause", "suspend", "resume", "lock",
        "unlock", "rebuild", "resize", "confirmResize", "revertResize", "migrate",
        "createImage", "shelve", "shelveOffload", "unshelve", "rescue", "unrescue",
        "os-getConsoleOutput", "os-getVNCConsole", "changePassword", "addSecurityGroup",
        "removeSecurityGroup", "os-resetState", "trigger_crash_dump",
    }  # fmt: skip
    assert wanted <= set(ACTIONS)


def test_every_protected_route_needs_a_token(app: Any, client: TestClient) -> None:
    for route in routes(app):
        if route.extra.get("x-public"):
            continue
        response = client.request(route.method, concrete(route.path), json={})
        assert response.status_code == 401, f"{route}: {response.status_code}"
        assert "unauthorized" in response.json()


def test_a_roleless_token_is_refused_and_never_crashes(
    app: Any, client: TestClient, runtime: Runtime
) -> None:
    token = make_token(runtime, roles=[], project_id="p1")
    headers = {"X-Auth-Token": token, "OpenStack-API-Version": "compute latest"}
    for route in routes(app):
        if route.extra.get("x-public"):
            continue
        rules = route.extra.get("x-policies", [])
        response = client.request(route.method, concrete(route.path), json={}, headers=headers)
        assert response.status_code < 500, f"{route}: {response.text}"
        if rules and route.method != "GET":
            assert response.status_code in (400, 403, 404), f"{route}: {response.status_code}"


def test_version_documents_are_public(client: TestClient) -> None:
    root = client.get("/").json()
    assert [v["id"] for v in root["versions"]] == ["v2.0", "v2.1"]
    v21 = client.get("/v2.1").json()["version"]
    assert v21["min_version"] == "2.1" and v21["version"] == "2.96"
    assert client.get("/v2/").json()["version"]["status"] == "DEPRECATED"


def test_legacy_v2_is_21_without_microversions(client: TestClient, runtime: Runtime) -> None:
    token = make_token(runtime, roles=["admin"], project_id="p1")
    headers = {"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.60"}
    legacy = client.get("/v2/flavors", headers=headers)
    assert legacy.status_code == 200 and "openstack-api-version" not in legacy.headers
    assert client.get("/v2/p1/flavors", headers=headers).status_code == 200
    client.get("/v2/os-hosts", headers=headers).raise_for_status()
    assert client.get("/v2.1/os-hosts", headers=headers).status_code == 404
    exts = client.get("/v2.1/extensions", headers=headers).json()["extensions"]
    assert "Hosts" in [e["name"] for e in exts]
    audit = client.get("/v2.1/os-instance_usage_audit_log", headers=headers).json()
    assert audit["instance_usage_audit_logs"]["period_ending"].endswith("-01 00:00:00")
    bad = client.get("/v2.1/os-instance_usage_audit_log/yesterday", headers=headers)
    assert bad.status_code == 400


def test_microversion_headers_and_errors(client: TestClient, runtime: Runtime) -> None:
    token = make_token(runtime, roles=["admin"], project_id="p1")
    ok = client.get(
        "/v2.1/flavors", headers={"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.60"}
    )
    assert ok.headers["openstack-api-version"] == "compute 2.60"
    assert ok.headers["x-openstack-nova-api-version"] == "2.60"
    assert "OpenStack-API-Version" in ok.headers["vary"]
    too_new = client.get(
        "/v2.1/flavors", headers={"X-Auth-Token": token, "OpenStack-API-Version": "compute 3.5"}
    )
    assert too_new.status_code == 406
    assert too_new.json()["notAcceptable"]["code"] == 406
    bad = client.get(
        "/v2.1/flavors", headers={"X-Auth-Token": token, "X-OpenStack-Nova-API-Version": "2.x"}
    )
    assert bad.status_code == 400
    assert "badRequest" in bad.json()
    assert "x-openstack-request-id" in bad.headers


def test_every_collection_is_known_to_the_project_id_stripper(app: Any) -> None:
    """``/v2.1/{project_id}/...`` URLs are recognised by their first segment; a collection
    missing from the list would lose its first segment as if it were a project id."""
    from tinystack.compute.api.microversion import COLLECTIONS

    firsts = {r.path.split("/")[2] for r in routes(app) if r.path.startswith("/v2.1/")}
    assert firsts - COLLECTIONS == set()


def test_every_write_route_declares_its_request_body(app: Any, client: TestClient) -> None:
    """Every POST/PUT/PATCH route names its request model, and /openapi.json describes it."""
    document = client.get("/openapi.json").json()
    for route in routes(app):
        if route.method not in {"POST", "PUT", "PATCH"}:
            continue
        extra = route.extra
        assert REQUEST_MODEL in extra, f"{route} declares no request model"
        operation = document["paths"][route.path][route.method.lower()]
        if extra[REQUEST_MODEL] is None:
            continue
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        # named fields, alternatives, or (an extra spec's ``{key: value}``) a typed map
        typed_map = isinstance(schema.get("additionalProperties"), dict)
        described = {"properties", "oneOf", "anyOf"} & set(schema) or typed_map
        assert described, str(route)
        assert "$defs" not in str(schema), str(route)
    action = document["paths"]["/v2.1/servers/{server_id}/action"]["post"]
    bodies = action["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    assert {name for body in bodies for name in body["properties"]} == set(ACTIONS)
