"""Access rules of application credentials: the API, and their enforcement (here by
identity itself; tests/identity/test_delegation_cli.py checks another service)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.identity.conftest import Cloud, assert_error, unique
from tinystack.common.auth.access_rules import path_matches


def _app_cred(cloud: Cloud, user_id: str, token: str, rules: list[dict[str, Any]]) -> Any:
    body = {"application_credential": {"name": unique("ac"), "access_rules": rules}}
    path = f"/v3/users/{user_id}/application_credentials"
    return cloud.ok("POST", path, token=token, status=201, json=body)["application_credential"]


def _cred_token(cloud: Cloud, cred: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    body = {
        "auth": {
            "identity": {
                "methods": ["application_credential"],
                "application_credential": {"id": cred["id"], "secret": cred["secret"]},
            }
        }
    }
    return cloud.issue(body)


@pytest.mark.parametrize(
    ("path", "pattern", "matches"),
    [
        ("/v2.1/servers/abc/ips", "/v2.1/servers/*/ips", True),
        ("/v2.1/servers/abc/def/ips", "/v2.1/servers/*/ips", False),
        ("/v2.1/servers/abc/def/ips", "/v2.1/servers/**", True),
        ("/v2/images/x", "/v2/images/{image_id}", True),
        ("/v2/imagesXx", "/v2/images.x", False),
        ("/v3/users", "/v3/users", True),
    ],
)
def test_path_patterns(path: str, pattern: str, matches: bool) -> None:
    assert path_matches(path, pattern) is matches


def test_rules_api(cloud: Cloud) -> None:
    project, user, token = cloud.member()
    rule = {"service": "compute", "method": "GET", "path": "/v2.1/servers/*/ips"}
    cred = _app_cred(cloud, user["id"], token, [rule])
    got = cred["access_rules"][0]
    assert {k: got[k] for k in rule} == rule and got["id"]
    # An identical rule is shared; one named by id is reused.
    again = _app_cred(cloud, user["id"], token, [rule, {"id": got["id"]}])
    assert [r["id"] for r in again["access_rules"]] == [got["id"]]
    base = f"/v3/users/{user['id']}/access_rules"
    listed = cloud.ok("GET", base, token=token)["access_rules"]
    assert [r["id"] for r in listed] == [got["id"]]
    assert cloud.ok("GET", f"{base}?service=compute", token=token)["access_rules"]
    assert cloud.ok("GET", f"{base}?service=image", token=token)["access_rules"] == []
    shown = cloud.ok("GET", f"{base}/{got['id']}", token=token)["access_rule"]
    assert shown["path"] == rule["path"]
    # In use: not deletable until no credential names it.
    assert_error(cloud.delete(f"{base}/{got['id']}", token=token), 403)
    for c in (cred, again):
        cloud.ok(
            "DELETE",
            f"/v3/users/{user['id']}/application_credentials/{c['id']}",
            token=token,
            status=204,
        )
    assert cloud.delete(f"{base}/{got['id']}", token=token).status_code == 204
    assert_error(cloud.get(f"{base}/{got['id']}", token=token), 404)
    # Someone else's rules are not yours to see.
    _, _, other = cloud.member()
    assert_error(cloud.get(base, token=other), 403)
    for bad in (
        {"service": "compute", "method": "FETCH", "path": "/x"},
        {"service": "compute", "method": "GET", "path": "no-slash"},
        {"id": "nosuchrule"},
    ):
        body = {"application_credential": {"name": unique("ac"), "access_rules": [bad]}}
        response = cloud.post(
            f"/v3/users/{user['id']}/application_credentials", token=token, json=body
        )
        assert response.status_code in (400, 404), response.text


def test_identity_enforces_the_rules(cloud: Cloud) -> None:
    project, user, token = cloud.member()
    rules = [{"service": "identity", "method": "GET", "path": "/v3/users/*"}]
    cred = _app_cred(cloud, user["id"], token, rules)
    cred_token, body = _cred_token(cloud, cred)
    assert body["application_credential"]["access_rules"] == [
        {"service": "identity", "method": "GET", "path": "/v3/users/*"}
    ]
    # Allowed: the rule's request; and validating the token itself.
    assert cloud.get(f"/v3/users/{user['id']}", token=cred_token).status_code == 200
    assert (
        cloud.get(
            "/v3/auth/tokens", token=cred_token, headers={"X-Subject-Token": cred_token}
        ).status_code
        == 200
    )
    # Refused (401, as keystonemiddleware): another path, another method.
    assert_error(cloud.get(f"/v3/users/{user['id']}/groups", token=cred_token), 401)
    assert_error(cloud.get("/v3/projects", token=cred_token), 401)
    assert_error(cloud.patch(f"/v3/users/{user['id']}", token=cred_token, json={"user": {}}), 401)
    # A credential without rules is unrestricted in this respect.
    free = _app_cred(cloud, user["id"], token, [])
    assert free["access_rules"] == []
    free_token, free_body = _cred_token(cloud, free)
    assert "access_rules" not in free_body["application_credential"]
    assert cloud.get(f"/v3/users/{user['id']}/groups", token=free_token).status_code == 200
