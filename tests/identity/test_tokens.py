"""``/v3/auth/tokens`` and friends: every auth method and scope, and the token body."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.identity.conftest import (
    ADMIN_PASSWORD,
    DEMO_PASSWORD,
    Cloud,
    assert_error,
    password_auth,
    unique,
)

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def _ts(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def _check_common(token: dict[str, Any], user: dict[str, Any], methods: list[str]) -> None:
    assert token["methods"] == methods
    assert token["user"]["id"] == user["id"]
    assert token["user"]["name"] == user["name"]
    assert token["user"]["domain"]["id"] == user["domain_id"]
    assert token["user"]["domain"]["name"]
    assert "password_expires_at" in token["user"]
    assert TIMESTAMP.match(token["expires_at"]) and TIMESTAMP.match(token["issued_at"])
    assert _ts(token["issued_at"]) < _ts(token["expires_at"])
    assert isinstance(token["audit_ids"], list) and len(token["audit_ids"]) == 1
    assert re.match(r"^[A-Za-z0-9_-]{22}$", token["audit_ids"][0])


def test_password_by_id_project_scope_body(cloud: Cloud) -> None:
    project, user, _ = cloud.member()
    response = cloud.client.post(
        "/v3/auth/tokens",
        json=password_auth(
            user_id=user["id"], password="secret", scope={"project": {"id": project["id"]}}
        ),
    )
    assert response.status_code == 201
    subject = response.headers["X-Subject-Token"]
    assert subject
    token = response.json()["token"]
    _check_common(token, user, ["password"])
    assert token["project"] == {
        "id": project["id"],
        "name": project["name"],
        "domain": {"id": "default", "name": "Default"},
    }
    assert token["is_domain"] is False
    assert {r["name"] for r in token["roles"]} == {"member", "reader"}
    assert all(set(r) == {"id", "name"} for r in token["roles"])
    services = {s["type"]: s for s in token["catalog"]}
    identity = services["identity"]
    assert identity["name"] == "keystone" and identity["id"]
    assert {e["interface"] for e in identity["endpoints"]} == {"public", "internal", "admin"}
    for endpoint in identity["endpoints"]:
        assert set(endpoint) >= {"id", "interface", "region", "region_id", "url"}
        assert endpoint["region_id"] == "RegionOne" and endpoint["url"] == "http://localhost/v3"
    assert "domain" not in token and "system" not in token


def test_password_by_name_with_domain_name_and_id(cloud: Cloud) -> None:
    domain = cloud.domain()
    user = cloud.user(domain_id=domain["id"])
    for ref in ({"name": domain["name"]}, {"id": domain["id"]}):
        _, token = cloud.issue(password_auth(name=user["name"], domain=ref, password="secret"))
        _check_common(token, user, ["password"])
        assert token["user"]["domain"] == {"id": domain["id"], "name": domain["name"]}
        # Unscoped: no roles, no catalog, no scope.
        assert not {"project", "domain", "system", "roles", "catalog"} & set(token)


def test_project_scope_by_name_and_domain(cloud: Cloud) -> None:
    domain = cloud.domain()
    project = cloud.project(domain_id=domain["id"])
    user = cloud.user()
    cloud.grant("reader", user=user["id"], project=project["id"])
    for dom in ({"id": domain["id"]}, {"name": domain["name"]}):
        scope = {"project": {"name": project["name"], "domain": dom}}
        _, token = cloud.login(user["id"], scope=scope)
        assert token["project"]["id"] == project["id"]
        assert token["project"]["domain"] == {"id": domain["id"], "name": domain["name"]}
        assert [r["name"] for r in token["roles"]] == ["reader"]


def test_domain_scope(cloud: Cloud) -> None:
    domain = cloud.domain()
    user = cloud.user()
    cloud.grant("admin", user=user["id"], domain=domain["id"])
    for ref in ({"id": domain["id"]}, {"name": domain["name"]}):
        _, token = cloud.login(user["id"], scope={"domain": ref})
        assert token["domain"] == {"id": domain["id"], "name": domain["name"]}
        assert {r["name"] for r in token["roles"]} == {"admin", "manager", "member", "reader"}
        assert "project" not in token and "is_domain" not in token
        assert "catalog" in token


def test_system_scope(cloud: Cloud) -> None:
    _, token = cloud.issue(
        password_auth(name="admin", password=ADMIN_PASSWORD, scope={"system": {"all": True}})
    )
    assert token["system"] == {"all": True}
    assert {r["name"] for r in token["roles"]} >= {"admin", "reader"}
    assert "project" not in token and "domain" not in token
    assert token["catalog"]


def test_system_scope_without_system_role_is_401(cloud: Cloud) -> None:
    user = cloud.user()
    response = cloud.client.post(
        "/v3/auth/tokens",
        json=password_auth(user_id=user["id"], password="secret", scope={"system": {"all": True}}),
    )
    assert_error(response, 401)


def test_unscoped_explicitly(cloud: Cloud) -> None:
    # demo has a default project, which "unscoped" must not apply.
    scopes: list[Any] = ["unscoped", {"unscoped": {}}]
    for scope in scopes:
        _, token = cloud.issue(password_auth(name="demo", password=DEMO_PASSWORD, scope=scope))
        assert "project" not in token and "roles" not in token and "catalog" not in token


def test_default_project_scoping(cloud: Cloud) -> None:
    project = cloud.project()
    user = cloud.user(default_project_id=project["id"])
    # No role on the default project yet: the token is unscoped.
    _, token = cloud.login(user["id"])
    assert "project" not in token
    cloud.grant("member", user=user["id"], project=project["id"])
    _, token = cloud.login(user["id"])
    assert token["project"]["id"] == project["id"]
    assert {r["name"] for r in token["roles"]} == {"member", "reader"}


def test_no_role_on_project_is_401(cloud: Cloud) -> None:
    project = cloud.project()
    user = cloud.user()
    response = cloud.client.post(
        "/v3/auth/tokens",
        json=password_auth(
            user_id=user["id"], password="secret", scope={"project": {"id": project["id"]}}
        ),
    )
    assert_error(response, 401)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda a: a["identity"]["password"]["user"].update(password="wrong"),
        lambda a: a["identity"]["password"]["user"].update(id="nope"),
        lambda a: a.update(scope={"project": {"id": "nope"}}),
        lambda a: a.update(scope={"domain": {"name": "nope"}}),
        lambda a: a.update(scope={"project": {"name": "admin", "domain": {"name": "nope"}}}),
    ],
)
def test_bad_credentials_or_scope_is_401(cloud: Cloud, mutate: Any) -> None:
    body = password_auth(name="admin", password=ADMIN_PASSWORD)
    body["auth"]["identity"]["password"]["user"]["id"] = cloud.ids["admin_user"]
    del body["auth"]["identity"]["password"]["user"]["name"]
    del body["auth"]["identity"]["password"]["user"]["domain"]
    mutate(body["auth"])
    assert_error(cloud.client.post("/v3/auth/tokens", json=body), 401)


def test_disabled_user_and_project_cannot_authenticate(cloud: Cloud) -> None:
    project, user, _ = cloud.member()
    cloud.ok("PATCH", f"/v3/projects/{project['id']}", json={"project": {"enabled": False}})
    response = cloud.client.post(
        "/v3/auth/tokens",
        json=password_auth(
            user_id=user["id"], password="secret", scope={"project": {"id": project["id"]}}
        ),
    )
    assert_error(response, 401)
    cloud.ok("PATCH", f"/v3/users/{user['id']}", json={"user": {"enabled": False}})
    response = cloud.client.post(
        "/v3/auth/tokens", json=password_auth(user_id=user["id"], password="secret")
    )
    assert_error(response, 401)


def test_user_in_disabled_domain_cannot_authenticate(cloud: Cloud) -> None:
    domain = cloud.domain()
    user = cloud.user(domain_id=domain["id"])
    cloud.login(user["id"])
    cloud.ok("PATCH", f"/v3/domains/{domain['id']}", json={"domain": {"enabled": False}})
    response = cloud.client.post(
        "/v3/auth/tokens", json=password_auth(user_id=user["id"], password="secret")
    )
    assert_error(response, 401)


def test_rescope_with_token_method_keeps_chain_and_expiry(cloud: Cloud) -> None:
    project, user, _ = cloud.member()
    other = cloud.project()
    cloud.grant("reader", user=user["id"], project=other["id"])
    unscoped, first = cloud.login(user["id"])
    time.sleep(0.01)
    body: dict[str, Any] = {
        "auth": {
            "identity": {"methods": ["token"], "token": {"id": unscoped}},
            "scope": {"project": {"id": project["id"]}},
        }
    }
    scoped, token = cloud.issue(body)
    assert set(token["methods"]) == {"password", "token"}
    assert token["project"]["id"] == project["id"]
    assert len(token["audit_ids"]) == 2
    assert token["audit_ids"][1] == first["audit_ids"][0]
    assert token["audit_ids"][0] != first["audit_ids"][0]
    assert token["expires_at"] == first["expires_at"]
    # Rescope the scoped token again: the chain still points at the first token.
    body["auth"]["identity"]["token"]["id"] = scoped
    body["auth"]["scope"] = {"project": {"id": other["id"]}}
    _, again = cloud.issue(body)
    assert again["audit_ids"][1] == first["audit_ids"][0]
    assert again["expires_at"] == first["expires_at"]
    assert [r["name"] for r in again["roles"]] == ["reader"]
    # Revoking the original token revokes only it (by audit id), as upstream does.
    cloud.ok("DELETE", "/v3/auth/tokens", status=204, headers={"X-Subject-Token": unscoped})
    assert not cloud.alive(unscoped)
    assert cloud.alive(scoped)


def test_token_method_with_bad_token_is_401(cloud: Cloud) -> None:
    body = {"auth": {"identity": {"methods": ["token"], "token": {"id": "garbage"}}}}
    assert_error(cloud.client.post("/v3/auth/tokens", json=body), 401)


def test_system_token_cannot_be_rescoped_to_a_project(cloud: Cloud) -> None:
    body = {
        "auth": {
            "identity": {"methods": ["token"], "token": {"id": cloud.system}},
            "scope": {"project": {"id": cloud.ids["admin_project"]}},
        }
    }
    assert_error(cloud.client.post("/v3/auth/tokens", json=body), 403)


def test_validate_check_revoke(cloud: Cloud) -> None:
    project, user, member = cloud.member()
    subject, issued = cloud.login(user["id"], scope={"project": {"id": project["id"]}})
    response = cloud.get("/v3/auth/tokens", headers={"X-Subject-Token": subject})
    assert response.status_code == 200
    assert response.headers["X-Subject-Token"] == subject
    validated = response.json()["token"]
    assert validated["audit_ids"] == issued["audit_ids"]
    assert validated["expires_at"] == issued["expires_at"]
    assert validated["issued_at"] == issued["issued_at"]
    assert validated["project"] == issued["project"]
    assert validated["roles"] == issued["roles"]
    assert "catalog" in validated
    nocat = cloud.get("/v3/auth/tokens?nocatalog", headers={"X-Subject-Token": subject})
    assert "catalog" not in nocat.json()["token"]
    # A user can validate their own token; HEAD checks.
    own = cloud.get("/v3/auth/tokens", token=member, headers={"X-Subject-Token": subject})
    assert own.status_code == 200
    head = cloud.head("/v3/auth/tokens", headers={"X-Subject-Token": subject})
    assert head.status_code == 200 and not head.content
    # But not someone else's.
    other = cloud.get("/v3/auth/tokens", token=member, headers={"X-Subject-Token": cloud.admin})
    assert_error(other, 403)
    # Revoke, then: validate 404, check 404, use 401.
    response = cloud.delete("/v3/auth/tokens", headers={"X-Subject-Token": subject})
    assert response.status_code == 204 and not response.content
    assert_error(cloud.get("/v3/auth/tokens", headers={"X-Subject-Token": subject}), 404)
    assert cloud.head("/v3/auth/tokens", headers={"X-Subject-Token": subject}).status_code == 404
    assert_error(cloud.get("/v3/auth/projects", token=subject), 401)
    # The member's other token is unaffected.
    assert cloud.get("/v3/auth/projects", token=member).status_code == 200


def test_validate_without_or_with_garbage_subject(cloud: Cloud) -> None:
    assert_error(cloud.get("/v3/auth/tokens"), 404)
    assert_error(cloud.get("/v3/auth/tokens", headers={"X-Subject-Token": "garbage"}), 404)
    assert_error(cloud.delete("/v3/auth/tokens", headers={"X-Subject-Token": "x" * 3000}), 404)


def test_garbage_auth_token_is_401(cloud: Cloud) -> None:
    error = assert_error(cloud.get("/v3/auth/projects", token="garbage"), 401)
    assert "authentication" in error["message"]
    response = cloud.get("/v3/auth/projects", token=None)
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Keystone uri=")


def test_nocatalog_on_issue(cloud: Cloud) -> None:
    body = password_auth(
        name="admin", password=ADMIN_PASSWORD, scope={"project": {"id": cloud.ids["admin_project"]}}
    )
    response = cloud.client.post("/v3/auth/tokens?nocatalog", json=body)
    assert response.status_code == 201
    assert "catalog" not in response.json()["token"]
    assert response.json()["token"]["roles"]


def test_auth_catalog_projects_domains_system(cloud: Cloud) -> None:
    project, user, token = cloud.member()
    domain = cloud.domain()
    cloud.grant("reader", user=user["id"], domain=domain["id"])
    catalog = cloud.ok("GET", "/v3/auth/catalog", token=token)
    assert catalog["catalog"][0]["type"] == "identity"
    assert catalog["links"]["self"].endswith("/v3/auth/catalog")
    projects = cloud.ok("GET", "/v3/auth/projects", token=token)
    assert [p["id"] for p in projects["projects"]] == [project["id"]]
    assert projects["projects"][0]["links"]["self"].endswith(f"/v3/projects/{project['id']}")
    domains = cloud.ok("GET", "/v3/auth/domains", token=token)
    assert [d["id"] for d in domains["domains"]] == [domain["id"]]
    assert cloud.ok("GET", "/v3/auth/system", token=token)["system"] == []
    assert cloud.ok("GET", "/v3/auth/system", token=cloud.admin)["system"] == [{"all": True}]
    # An unscoped token may list its scopes but has no catalog.
    unscoped, _ = cloud.login(user["id"])
    assert cloud.ok("GET", "/v3/auth/projects", token=unscoped)["projects"]
    assert_error(cloud.get("/v3/auth/catalog", token=unscoped), 403)
    for path in ("/v3/auth/catalog", "/v3/auth/projects", "/v3/auth/domains", "/v3/auth/system"):
        assert cloud.head(path, token=token).status_code == 200


def test_auth_projects_skips_disabled_and_includes_group_and_inherited(cloud: Cloud) -> None:
    user = cloud.user()
    group = cloud.group()
    cloud.ok("PUT", f"/v3/groups/{group['id']}/users/{user['id']}", status=204)
    via_group, disabled, parent = cloud.project(), cloud.project(), cloud.project()
    child = cloud.project(parent_id=parent["id"])
    cloud.grant("member", group=group["id"], project=via_group["id"])
    cloud.grant("member", user=user["id"], project=disabled["id"])
    cloud.grant("member", user=user["id"], project=parent["id"], inherited=True)
    cloud.ok("PATCH", f"/v3/projects/{disabled['id']}", json={"project": {"enabled": False}})
    token, _ = cloud.login(user["id"])
    got = {p["id"] for p in cloud.ok("GET", "/v3/auth/projects", token=token)["projects"]}
    assert got == {via_group["id"], child["id"]}


def test_issue_methods_and_identity_errors(cloud: Cloud) -> None:
    body = {"auth": {"identity": {"methods": ["kerberos"], "kerberos": {}}}}
    assert_error(cloud.client.post("/v3/auth/tokens", json=body), 401)
    # totp is a method (tests/identity/test_mfa.py); without a user it is a bad request
    body = {"auth": {"identity": {"methods": ["totp"], "totp": {}}}}
    assert_error(cloud.client.post("/v3/auth/tokens", json=body), 400)
    body = {"auth": {"identity": {"methods": ["password"]}}}
    assert_error(cloud.client.post("/v3/auth/tokens", json=body), 400)
    body = {"auth": {}}
    assert_error(cloud.client.post("/v3/auth/tokens", json=body), 400)


def test_password_and_token_methods_must_agree(cloud: Cloud) -> None:
    user = cloud.user()
    token, _ = cloud.login(user["id"])
    both = password_auth(name="admin", password=ADMIN_PASSWORD)
    both["auth"]["identity"]["methods"] = ["password", "token"]
    both["auth"]["identity"]["token"] = {"id": token}
    assert_error(cloud.client.post("/v3/auth/tokens", json=both), 401)


def test_expired_password_is_401(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    user = cloud.user(name=unique("exp"))
    state = cloud.runtime.extra["identity"]
    from tinystack.identity import models

    def expire(session: Any) -> None:
        row = session.get(models.User, user["id"])
        row.password_expires_at = datetime(2000, 1, 1)

    state.db.write(expire)
    response = cloud.client.post(
        "/v3/auth/tokens", json=password_auth(user_id=user["id"], password="secret")
    )
    assert_error(response, 401)
    # The user can still change the expired password without a token, as upstream allows.
    response = cloud.post(
        f"/v3/users/{user['id']}/password",
        token=None,
        json={"user": {"original_password": "secret", "password": "fresh"}},
    )
    assert response.status_code == 204, response.text
    cloud.login(user["id"], "fresh")


def test_many_roles_still_make_a_valid_token(cloud: Cloud) -> None:
    project, user, _ = cloud.member()
    for _ in range(40):
        cloud.grant(cloud.role()["id"], user=user["id"], project=project["id"])
    token, body = cloud.login(user["id"], scope={"project": {"id": project["id"]}})
    assert len(body["roles"]) == 42
    assert cloud.alive(token)
    assert cloud.get(f"/v3/projects/{project['id']}", token=token).status_code == 200


def test_expired_tokens_and_allow_expired(cloud: Cloud) -> None:
    from tinystack.common.auth.tokens import TokenPayload

    project, user, _ = cloud.member()
    now = time.time()
    payload = TokenPayload(
        user_id=user["id"],
        methods=("password",),
        expires_at=now - 60,
        issued_at=now - 3660,
        project_id=project["id"],
        roles=((cloud.role_id("member"), "member"), (cloud.role_id("reader"), "reader")),
    )
    expired = cloud.runtime.token_codec.encode(payload)
    assert_error(cloud.get("/v3/auth/tokens", headers={"X-Subject-Token": expired}), 404)
    response = cloud.get("/v3/auth/tokens?allow_expired=1", headers={"X-Subject-Token": expired})
    assert response.status_code == 200
    assert response.json()["token"]["project"]["id"] == project["id"]
    assert_error(cloud.get("/v3/auth/projects", token=expired), 401)


def test_version_discovery(cloud: Cloud) -> None:
    response = cloud.get("/", token=None)
    assert response.status_code == 300
    (v3,) = response.json()["versions"]["values"]
    assert v3["id"].startswith("v3.") and v3["status"] == "stable"
    assert v3["links"][0]["href"] == "http://testserver/v3/"
    assert v3["media-types"][0]["type"] == "application/vnd.openstack.identity-v3+json"
    version = cloud.ok("GET", "/v3", token=None)["version"]
    assert version["id"] == v3["id"]
