"""Route-walking meta-tests of the volume API: the shape checks (tests/routecheck.py),
every protected route demands a token, a token without roles never gets further than a
refusal, version documents and microversion negotiation as upstream."""

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

from tests import routecheck
from tests.routecheck import Endpoint, RouteRules, endpoints
from tests.support import make_runtime, make_token
from tinystack.common.service import Runtime
from tinystack.volume import policies
from tinystack.volume.api.microversion import VERSIONS
from tinystack.volume.api.volume_actions import ACTIONS
from tinystack.volume.service import SERVICE

#: routes that check no rule of their own (cinder authorizes none there)
UNRULED = {
    # dispatches on the body; every action names its rules (checked below)
    ("POST", "/v3/volumes/{volume_id}/action"),
    ("GET", "/v3/extensions"),
    ("GET", "/v3/extensions/{alias}"),
    ("GET", "/v3/os-availability-zone"),
    ("GET", "/v3/resource_filters"),
    ("GET", "/v3/attachments"),
    ("GET", "/v3/attachments/detail"),
    ("GET", "/v3/attachments/{attachment_id}"),
}


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
    return endpoints(app)


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: "x" + uuid.uuid4().hex, path)


def test_the_shape_checks(app: Any) -> None:
    rules = RouteRules(
        rules=frozenset(r.name for r in policies.list_rules()),
        public=frozenset(UNRULED),
        versions=VERSIONS,
    )
    routecheck.check(app, rules)


def test_every_action_names_registered_rules() -> None:
    registered = {r.name for r in policies.list_rules()}
    wanted = {
        "os-extend", "os-retype", "os-set_bootable", "os-update_readonly_flag",
        "os-volume_upload_image", "os-set_image_metadata", "os-unset_image_metadata",
        "os-show_image_metadata", "os-reset_status", "os-force_delete", "os-migrate_volume",
    }  # fmt: skip
    assert wanted <= set(ACTIONS)
    for action in ACTIONS.values():
        assert action.policies and set(action.policies) <= registered, action.name


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
    headers = {"X-Auth-Token": token, "OpenStack-API-Version": "volume latest"}
    for route in routes(app):
        if route.extra.get("x-public"):
            continue
        rules = route.extra.get("x-policies", [])
        response = client.request(route.method, concrete(route.path), json={}, headers=headers)
        assert response.status_code < 500, f"{route}: {response.text}"
        if rules and route.method != "GET":
            assert response.status_code in (400, 403, 404), f"{route}: {response.status_code}"


def test_version_documents_are_public(client: TestClient) -> None:
    root = client.get("/")
    assert root.status_code == 300
    (v3,) = root.json()["versions"]
    assert v3["id"] == "v3.0" and v3["min_version"] == "3.0" and v3["version"] == "3.71"
    assert client.get("/v3/").json()["versions"][0]["status"] == "CURRENT"
    assert client.get("/v3").status_code == 200


def test_microversion_headers_and_errors(client: TestClient, runtime: Runtime) -> None:
    token = make_token(runtime, roles=["admin"], project_id="ab12")
    ok = client.get(
        "/v3/extensions", headers={"X-Auth-Token": token, "OpenStack-API-Version": "volume 3.50"}
    )
    assert ok.status_code == 200
    assert ok.headers["openstack-api-version"] == "volume 3.50"
    assert "OpenStack-API-Version" in ok.headers["vary"]
    too_new = client.get(
        "/v3/extensions", headers={"X-Auth-Token": token, "OpenStack-API-Version": "volume 3.99"}
    )
    assert too_new.status_code == 406
    assert "maximum is 3.71" in too_new.json()["computeFault"]["message"]
    bad = client.get(
        "/v3/extensions", headers={"X-Auth-Token": token, "OpenStack-API-Version": "volume 3.x"}
    )
    assert bad.status_code == 400 and "badRequest" in bad.json()
    legacy = client.get(
        "/v3/extensions", headers={"X-Auth-Token": token, "OpenStack-Volume-microversion": "3.2"}
    )
    assert legacy.headers["openstack-api-version"] == "volume 3.2"
    plain = client.get("/v3/extensions", headers={"X-Auth-Token": token})
    assert plain.headers["openstack-api-version"] == "volume 3.0"


def test_project_ids_in_urls_are_optional(client: TestClient, runtime: Runtime) -> None:
    token = make_token(runtime, roles=["member"], project_id="ab12")
    headers = {"X-Auth-Token": token}
    assert client.get("/v3/ab12/extensions", headers=headers).status_code == 200
    assert client.get("/v3/extensions", headers=headers).status_code == 200
    other = client.get("/v3/cd34/extensions", headers=headers)
    assert other.status_code == 400
    assert other.json() == {"badRequest": {"code": 400, "message": "Malformed request url"}}
