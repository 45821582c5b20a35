"""Bad requests get identity's error body with the upstream status, never a 500."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from tests.identity.conftest import Cloud, assert_error, unique
from tests.identity.test_rbac import _routes

CREATE = {
    "/v3/projects": "project",
    "/v3/users": "user",
    "/v3/groups": "group",
    "/v3/roles": "role",
    "/v3/domains": "domain",
}


@pytest.mark.parametrize("path", [*CREATE, "/v3/auth/tokens", "/v3/regions", "/v3/services"])
def test_malformed_json_is_400(cloud: Cloud, path: str) -> None:
    for body in (b"{not json", b"", b"[1, 2", b'{"a": }'):
        response = cloud.post(path, content=body, headers={"Content-Type": "application/json"})
        assert_error(response, 400)


@pytest.mark.parametrize("path,key", CREATE.items())
def test_wrong_types_are_400(cloud: Cloud, path: str, key: str) -> None:
    for bad in (
        {"name": 5},
        {"name": ""},
        {"name": "x" * 256},
        {"name": None},
        {"name": unique(), "enabled": "yes"},
        {"name": unique(), "enabled": 1},
        {"name": unique(), "description": 5},
        {"name": ["a"]},
    ):
        if key in ("group", "role") and "enabled" in bad:
            continue  # no enabled attribute: kept as an extra attribute upstream
        assert_error(cloud.post(path, json={key: bad}), 400)
    bodies: list[Any] = [{}, {key: {}}, {key: "x"}, {key: None}, [], "x", 5, {"other": {}}]
    for body in bodies:
        assert_error(cloud.post(path, json=body), 400)


@pytest.mark.parametrize("path,key", CREATE.items())
def test_duplicate_names_are_409(cloud: Cloud, path: str, key: str) -> None:
    name = unique()
    cloud.ok("POST", path, status=201, json={key: {"name": name}})
    assert_error(cloud.post(path, json={key: {"name": name}}), 409)


@pytest.mark.parametrize(
    "path",
    [
        "/v3/projects/nope",
        "/v3/users/nope",
        "/v3/groups/nope",
        "/v3/roles/nope",
        "/v3/domains/nope",
        "/v3/regions/nope",
        "/v3/services/nope",
        "/v3/endpoints/nope",
        "/v3/groups/nope/users",
        "/v3/roles/nope/implies",
        "/v3/projects/nope/tags",
        "/v3/users/nope/application_credentials",
        "/v3/nothing-here",
    ],
)
def test_missing_objects_are_404(cloud: Cloud, path: str) -> None:
    assert_error(cloud.get(path), 404)
    if path.count("/") == 3 and "nothing" not in path:
        assert_error(cloud.delete(path), 404)
        key = path.split("/")[2][:-1]
        assert_error(cloud.patch(path, json={key: {}}), 404)


def test_wrong_method_is_405(cloud: Cloud) -> None:
    assert_error(cloud.call("PATCH", "/v3/auth/tokens", json={}), 405)
    assert_error(cloud.call("PUT", "/v3/projects", json={}), 405)


def test_update_bodies(cloud: Cloud) -> None:
    project = cloud.project()
    path = f"/v3/projects/{project['id']}"
    updates: list[dict[str, Any]] = [
        {},
        {"project": {"enabled": "no"}},
        {"project": {"name": 5}},
        {"project": {"tags": "a"}},
    ]
    for body in updates:
        assert_error(cloud.patch(path, json=body), 400)
    user = cloud.user()
    updates = [{"user": {"enabled": "no"}}, {"user": {"options": []}}, {"user": {"password": 5}}]
    for body in updates:
        assert_error(cloud.patch(f"/v3/users/{user['id']}", json=body), 400)
    for body in (
        {"user": {}},
        {"user": {"password": "x"}},
        {"user": {"original_password": 1, "password": "x"}},
    ):
        assert_error(cloud.post(f"/v3/users/{user['id']}/password", token=None, json=body), 400)


@pytest.mark.parametrize(
    "auth",
    [
        {},
        {"identity": "password"},
        {"identity": {"methods": "password"}},
        {"identity": {"methods": [5]}},
        {"identity": {"methods": ["password"], "password": "x"}},
        {"identity": {"methods": ["password"], "password": {"user": "x"}}},
        {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"id": ["x"], "password": "p"}},
            }
        },
        {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"id": {"a": 1}, "password": "p"}},
            }
        },
        {"identity": {"methods": ["password"], "password": {"user": {"id": "x", "password": 5}}}},
        {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": "x", "password": "p"}},
            }
        },
        {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": "x", "domain": {"name": 5}, "password": "p"}},
            }
        },
        {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": "x", "domain": {}, "password": "p"}},
            }
        },
        {"identity": {"methods": ["password"], "password": {"user": {"password": "p"}}}},
        {"identity": {"methods": ["token"], "token": {}}},
        {"identity": {"methods": ["token"], "token": {"id": 5}}},
        {"identity": {"methods": ["token"]}},
        {
            "identity": {
                "methods": ["application_credential"],
                "application_credential": {"id": "x"},
            }
        },
        {
            "identity": {
                "methods": ["application_credential"],
                "application_credential": {"secret": "x"},
            }
        },
        {
            "identity": {
                "methods": ["application_credential"],
                "application_credential": {"id": 5, "secret": "x"},
            }
        },
    ],
)
def test_malformed_auth_is_400(cloud: Cloud, auth: dict[str, Any]) -> None:
    assert_error(cloud.client.post("/v3/auth/tokens", json={"auth": auth}), 400)


@pytest.mark.parametrize(
    "scope",
    [
        {"project": "x"},
        {"project": {"id": 5}},
        {"project": {}},
        {"project": {"name": "admin"}},
        {"project": {"name": "admin", "domain": {}}},
        {"domain": "x"},
        {"domain": {"id": ["x"]}},
        {"domain": {}},
        {"system": "all"},
        {"system": {"all": "yes"}},
        {"system": {"all": False}},
        {"project": {"id": "x"}, "domain": {"id": "y"}},
        5,
        ["project"],
    ],
)
def test_malformed_scope_is_400(cloud: Cloud, scope: Any) -> None:
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"id": cloud.ids["admin_user"], "password": "admin-secret"}},
            },
            "scope": scope,
        }
    }
    assert_error(cloud.client.post("/v3/auth/tokens", json=body), 400)


def test_unknown_methods_are_401(cloud: Cloud) -> None:
    for methods in (["kerberos"], ["password", "kerberos"], ["saml2"], []):
        body = {
            "auth": {
                "identity": {
                    "methods": methods,
                    "password": {"user": {"id": "x", "password": "y"}},
                    "totp": {},
                    "kerberos": {},
                }
            }
        }
        assert_error(cloud.client.post("/v3/auth/tokens", json=body), 401)


def test_trust_scope_is_refused(cloud: Cloud) -> None:
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"id": cloud.ids["admin_user"], "password": "admin-secret"}},
            },
            "scope": {"OS-TRUST:trust": {"id": "x"}},
        }
    }
    response = cloud.client.post("/v3/auth/tokens", json=body)
    assert response.status_code in (401, 403), response.text
    assert_error(response, response.status_code)


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    kinds = ["str", "int", "bool", "none", "float", "list", "dict", "big"]
    kind = rng.choice(kinds if depth < 3 else kinds[:5])
    if kind == "str":
        return rng.choice(
            ["", "x", "admin", "default", "\u00e9\u4e2d", "a,b", "a/b", "' OR 1=1 --", "\x00"]
        )
    if kind == "int":
        return rng.choice([0, -1, 2**63, 5])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "none":
        return None
    if kind == "float":
        return rng.choice([1.5, float("1e308")])
    if kind == "big":
        return "x" * rng.choice([256, 70000])
    if kind == "list":
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    keys = [
        "name",
        "id",
        "domain_id",
        "parent_id",
        "enabled",
        "tags",
        "options",
        "password",
        "description",
        "roles",
        "expires_at",
        "secret",
        "type",
        "url",
        "interface",
        "service_id",
        "region_id",
        "parent_region_id",
        "is_domain",
        "unrestricted",
        "user",
        "identity",
        "methods",
        "scope",
        "project",
        "domain",
        "system",
        "token",
    ]
    return {rng.choice(keys): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def test_random_bodies_never_500(fresh_cloud: Cloud) -> None:
    """Random JSON to every write route (on a cloud of its own: it may rename roles)."""
    random_bodies(fresh_cloud)


def random_bodies(cloud: Cloud) -> None:
    rng = random.Random(20261122)
    project, user = cloud.project(), cloud.user()
    fill = {
        "project_id": project["id"],
        "user_id": user["id"],
        "target_id": project["id"],
        "actor_id": user["id"],
        "target": "projects",
        "actor": "users",
        "role_id": cloud.role_id("reader"),
        "prior_role_id": cloud.role_id("reader"),
        "implied_role_id": cloud.role_id("service"),
        "domain_id": "default",
    }
    checked = 0
    for method, path, _ in _routes(cloud):
        if method not in ("POST", "PUT", "PATCH") or "{group_id}" in path:
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: fill.get(m.group(1), "x"), path)
        key = path.strip("/").split("/")[1].rstrip("s") if path.count("/") > 1 else "x"
        for _ in range(12):
            body = _random_value(rng)
            wrapped = {key: body} if rng.random() < 0.6 else body
            if path == "/v3/auth/tokens":
                wrapped = {"auth": _random_value(rng)}
            response = cloud.call(method, url, json=wrapped)
            assert response.status_code < 500, (method, url, wrapped, response.text)
            if response.status_code >= 400:
                assert_error(response, response.status_code)
            checked += 1
    assert checked > 200


@pytest.mark.parametrize("path,key", CREATE.items())
def test_id_and_links_sent_back(cloud: Cloud, path: str, key: str) -> None:
    created = cloud.ok(
        "POST", path, status=201, json={key: {"name": unique(), "links": {"self": "x"}}}
    )[key]
    assert created["links"]["self"].endswith(created["id"])
    target = f"{path}/{created['id']}"
    # The same id and links back are fine; another id is refused.
    echo = {"id": created["id"], "links": created["links"], "description": "again"}
    assert cloud.ok("PATCH", target, json={key: echo})[key]["description"] == "again"
    assert_error(cloud.patch(target, json={key: {"id": "other"}}), 400)


UPDATABLE = {
    "project": ["name", "enabled", "tags", "description", "domain_id", "parent_id", "is_domain"],
    "user": ["name", "enabled", "password", "default_project_id", "description", "options"],
    "group": ["name", "description", "domain_id"],
    "role": ["name", "description", "options", "domain_id"],
    "domain": ["name", "description", "enabled", "tags"],
    "service": ["type", "name", "description", "enabled"],
    "endpoint": ["service_id", "interface", "url", "region_id", "region", "enabled"],
    "region": ["description", "parent_region_id"],
}
NOT_NULL = {
    "project": {"name", "enabled"},
    "user": {"name", "enabled"},
    "group": {"name"},
    "role": {"name"},
    "domain": {"name", "enabled"},
    "service": {"type", "enabled"},
    "endpoint": {"service_id", "interface", "url", "enabled"},
    "region": set(),
}


def test_null_attributes_in_updates(cloud: Cloud) -> None:
    service = cloud.ok("POST", "/v3/services", status=201, json={"service": {"type": "x"}})
    endpoint = cloud.ok(
        "POST",
        "/v3/endpoints",
        status=201,
        json={
            "endpoint": {
                "service_id": service["service"]["id"],
                "interface": "public",
                "url": "http://x",
            }
        },
    )
    region = unique("R")
    cloud.ok("PUT", f"/v3/regions/{region}", status=201, json={"region": {}})
    ids = {
        "project": cloud.project()["id"],
        "user": cloud.user()["id"],
        "group": cloud.group()["id"],
        "role": cloud.role()["id"],
        "domain": cloud.domain()["id"],
        "region": region,
        "service": service["service"]["id"],
        "endpoint": endpoint["endpoint"]["id"],
    }
    for kind, fields in UPDATABLE.items():
        for name in fields:
            response = cloud.patch(f"/v3/{kind}s/{ids[kind]}", json={kind: {name: None}})
            assert response.status_code < 500, (kind, name, response.text)
            if name in NOT_NULL[kind]:
                assert_error(response, 400)


def test_random_query_strings_never_500(cloud: Cloud) -> None:
    rng = random.Random(11)
    names = ["name", "domain_id", "enabled", "parent_id", "tags", "tags-any", "not-tags",
             "not-tags-any", "user.id", "group.id", "role.id", "scope.project.id",
             "scope.domain.id", "scope.system", "effective", "include_names", "include_subtree",
             "scope.OS-INHERIT:inherited_to", "since", "nocatalog", "parents_as_ids",
             "subtree_as_ids", "type", "interface", "service_id", "region_id", "parent_region_id",
             "allow_expired", "password_expires_at", "trustor_user_id", "trustee_user_id",
             "resource_name", "project_id", "user_id", "remote_id", "id"]  # fmt: skip
    values = ["", "x", "true", "false", "0", "1", "all", "projects", "a,b", ",", "%00", "%ff",
              "2026-01-01T00:00:00Z", "lt:2026-01-01T00:00:00Z", "xx:1", "lt:",
              "x" * 300, cloud.ids["admin_project"], "default"]  # fmt: skip
    paths = [p for m, p, _ in _routes(cloud) if m == "GET" and "{" not in p]
    paths += [f"/v3/projects/{cloud.ids['admin_project']}", f"/v3/users/{cloud.ids['admin_user']}"]
    for _ in range(300):
        path = rng.choice(paths)
        query = "&".join(
            f"{rng.choice(names)}={rng.choice(values)}" for _ in range(rng.randint(1, 3))
        )
        response = cloud.get(f"{path}?{query}", headers={"X-Subject-Token": cloud.admin})
        assert response.status_code < 500, (path, query, response.text)
        if response.status_code >= 400:
            assert_error(response, response.status_code)
