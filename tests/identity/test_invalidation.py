"""Everything that takes access away makes the affected existing tokens fail (401),
while unrelated tokens keep working."""

from __future__ import annotations

from typing import Any

from tests.identity.conftest import Cloud, assert_error, restart, unique


def _two_projects(cloud: Cloud) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A user with member on two projects; returns (user, project_a, project_b)."""
    user = cloud.user()
    a, b = cloud.project(), cloud.project()
    cloud.grant("member", user=user["id"], project=a["id"])
    cloud.grant("member", user=user["id"], project=b["id"])
    return user, a, b


def test_revoke_token(cloud: Cloud) -> None:
    user, a, _ = _two_projects(cloud)
    one = cloud.project_token(user["id"], a["id"])
    two = cloud.project_token(user["id"], a["id"])
    cloud.ok("DELETE", "/v3/auth/tokens", status=204, headers={"X-Subject-Token": one})
    assert not cloud.alive(one)
    assert cloud.alive(two)
    # A user may revoke their own token.
    cloud.ok("DELETE", "/v3/auth/tokens", token=two, status=204, headers={"X-Subject-Token": two})
    assert not cloud.alive(two)


def test_disable_user(cloud: Cloud) -> None:
    user, a, _ = _two_projects(cloud)
    bystander, _, _ = _two_projects(cloud)
    token = cloud.project_token(user["id"], a["id"])
    unscoped, _ = cloud.login(user["id"])
    other, _ = cloud.login(bystander["id"])
    cloud.ok("PATCH", f"/v3/users/{user['id']}", json={"user": {"enabled": False}})
    assert not cloud.alive(token) and not cloud.alive(unscoped)
    assert cloud.alive(other)
    # Enabling again does not bring old tokens back, but new ones work.
    cloud.ok("PATCH", f"/v3/users/{user['id']}", json={"user": {"enabled": True}})
    assert not cloud.alive(token)
    assert cloud.alive(cloud.project_token(user["id"], a["id"]))


def test_disable_project(cloud: Cloud) -> None:
    user, a, b = _two_projects(cloud)
    on_a = cloud.project_token(user["id"], a["id"])
    on_b = cloud.project_token(user["id"], b["id"])
    cloud.ok("PATCH", f"/v3/projects/{a['id']}", json={"project": {"enabled": False}})
    assert not cloud.alive(on_a)
    assert cloud.alive(on_b)


def test_delete_project(cloud: Cloud) -> None:
    user, a, b = _two_projects(cloud)
    on_a = cloud.project_token(user["id"], a["id"])
    on_b = cloud.project_token(user["id"], b["id"])
    cloud.ok("DELETE", f"/v3/projects/{a['id']}", status=204)
    assert not cloud.alive(on_a)
    assert cloud.alive(on_b)


def test_disable_domain(cloud: Cloud) -> None:
    domain = cloud.domain()
    project = cloud.project(domain_id=domain["id"])
    user = cloud.user(domain_id=domain["id"])
    outsider, a, _ = _two_projects(cloud)
    cloud.grant("member", user=user["id"], project=project["id"])
    cloud.grant("member", user=outsider["id"], project=project["id"])
    token = cloud.project_token(user["id"], project["id"])
    outsider_in = cloud.project_token(outsider["id"], project["id"])
    outsider_out = cloud.project_token(outsider["id"], a["id"])
    cloud.ok("PATCH", f"/v3/domains/{domain['id']}", json={"domain": {"enabled": False}})
    assert not cloud.alive(token) and not cloud.alive(outsider_in)
    assert cloud.alive(outsider_out)


def test_delete_role_assignment(cloud: Cloud) -> None:
    user, a, b = _two_projects(cloud)
    on_a = cloud.project_token(user["id"], a["id"])
    on_b = cloud.project_token(user["id"], b["id"])
    cloud.ok(
        "DELETE",
        cloud.grant_path(cloud.role_id("member"), user=user["id"], project=a["id"]),
        status=204,
    )
    assert not cloud.alive(on_a)
    assert cloud.alive(on_b)
    # And the user can no longer scope to the project.
    response = cloud.client.post(
        "/v3/auth/tokens",
        json={
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"id": user["id"], "password": "secret"}},
                },
                "scope": {"project": {"id": a["id"]}},
            }
        },
    )
    assert_error(response, 401)


def test_delete_domain_assignment(cloud: Cloud) -> None:
    domain = cloud.domain()
    user, a, _ = _two_projects(cloud)
    cloud.grant("reader", user=user["id"], domain=domain["id"])
    on_domain, _ = cloud.login(user["id"], scope={"domain": {"id": domain["id"]}})
    on_a = cloud.project_token(user["id"], a["id"])
    cloud.ok(
        "DELETE",
        cloud.grant_path(cloud.role_id("reader"), user=user["id"], domain=domain["id"]),
        status=204,
    )
    assert not cloud.alive(on_domain)
    assert cloud.alive(on_a)


def test_delete_inherited_assignment(cloud: Cloud) -> None:
    user = cloud.user()
    parent = cloud.project()
    child = cloud.project(parent_id=parent["id"])
    path = cloud.grant("member", user=user["id"], project=parent["id"], inherited=True)
    on_child = cloud.project_token(user["id"], child["id"])
    cloud.ok("DELETE", path, status=204)
    assert not cloud.alive(on_child)


def test_delete_role(cloud: Cloud) -> None:
    role = cloud.role()
    user, a, b = _two_projects(cloud)
    cloud.grant(role["id"], user=user["id"], project=a["id"])
    with_role = cloud.project_token(user["id"], a["id"])
    without_role = cloud.project_token(user["id"], b["id"])
    assert role["name"] in {
        r["name"]
        for r in cloud.ok("GET", "/v3/auth/tokens", headers={"X-Subject-Token": with_role})[
            "token"
        ]["roles"]
    }
    cloud.ok("DELETE", f"/v3/roles/{role['id']}", status=204)
    assert not cloud.alive(with_role)
    assert cloud.alive(without_role)


def test_delete_implied_role_rule(cloud: Cloud) -> None:
    prior, implied = cloud.role(), cloud.role()
    cloud.ok("PUT", f"/v3/roles/{prior['id']}/implies/{implied['id']}", status=201)
    user, a, b = _two_projects(cloud)
    cloud.grant(prior["id"], user=user["id"], project=a["id"])
    token = cloud.project_token(user["id"], a["id"])
    roles = cloud.ok("GET", "/v3/auth/tokens", headers={"X-Subject-Token": token})["token"]["roles"]
    assert {prior["name"], implied["name"]} <= {r["name"] for r in roles}
    unrelated = cloud.project_token(user["id"], b["id"])
    cloud.ok("DELETE", f"/v3/roles/{prior['id']}/implies/{implied['id']}", status=204)
    assert not cloud.alive(token)
    assert cloud.alive(unrelated)


def test_change_password_with_patch(cloud: Cloud) -> None:
    user, a, _ = _two_projects(cloud)
    bystander, b, _ = _two_projects(cloud)
    token = cloud.project_token(user["id"], a["id"])
    other = cloud.project_token(bystander["id"], b["id"])
    cloud.ok("PATCH", f"/v3/users/{user['id']}", json={"user": {"password": "new-one"}})
    assert not cloud.alive(token)
    assert cloud.alive(other)
    assert_error(
        cloud.client.post(
            "/v3/auth/tokens",
            json={
                "auth": {
                    "identity": {
                        "methods": ["password"],
                        "password": {"user": {"id": user["id"], "password": "secret"}},
                    }
                }
            },
        ),
        401,
    )
    assert cloud.alive(cloud.project_token(user["id"], a["id"], password="new-one"))


def test_change_own_password(cloud: Cloud) -> None:
    user, a, _ = _two_projects(cloud)
    bystander, b, _ = _two_projects(cloud)
    token = cloud.project_token(user["id"], a["id"])
    other = cloud.project_token(bystander["id"], b["id"])
    body = {"user": {"original_password": "wrong", "password": "new-one"}}
    assert_error(cloud.post(f"/v3/users/{user['id']}/password", token=token, json=body), 401)
    assert cloud.alive(token)
    body["user"]["original_password"] = "secret"
    response = cloud.post(f"/v3/users/{user['id']}/password", token=token, json=body)
    assert response.status_code == 204, response.text
    assert not cloud.alive(token)
    assert cloud.alive(other)
    assert cloud.alive(cloud.project_token(user["id"], a["id"], password="new-one"))


def test_remove_user_from_group_carrying_the_grant(cloud: Cloud) -> None:
    group = cloud.group()
    user, _, b = _two_projects(cloud)
    stays = cloud.user()
    project = cloud.project()
    for member in (user, stays):
        cloud.ok("PUT", f"/v3/groups/{group['id']}/users/{member['id']}", status=204)
    cloud.grant("member", group=group["id"], project=project["id"])
    token = cloud.project_token(user["id"], project["id"])
    kept = cloud.project_token(stays["id"], project["id"])
    cloud.ok("DELETE", f"/v3/groups/{group['id']}/users/{user['id']}", status=204)
    assert not cloud.alive(token)
    assert cloud.alive(kept)
    assert_error(
        cloud.client.post(
            "/v3/auth/tokens",
            json={
                "auth": {
                    "identity": {
                        "methods": ["password"],
                        "password": {"user": {"id": user["id"], "password": "secret"}},
                    },
                    "scope": {"project": {"id": project["id"]}},
                }
            },
        ),
        401,
    )


def test_delete_group_grant_and_group(cloud: Cloud) -> None:
    group = cloud.group()
    user = cloud.user()
    project = cloud.project()
    cloud.ok("PUT", f"/v3/groups/{group['id']}/users/{user['id']}", status=204)
    path = cloud.grant("member", group=group["id"], project=project["id"])
    token = cloud.project_token(user["id"], project["id"])
    cloud.ok("DELETE", path, status=204)
    assert not cloud.alive(token)
    cloud.grant("member", group=group["id"], project=project["id"])
    token = cloud.project_token(user["id"], project["id"])
    cloud.ok("DELETE", f"/v3/groups/{group['id']}", status=204)
    assert not cloud.alive(token)


def test_delete_user(cloud: Cloud) -> None:
    user, a, _ = _two_projects(cloud)
    bystander, b, _ = _two_projects(cloud)
    token = cloud.project_token(user["id"], a["id"])
    other = cloud.project_token(bystander["id"], b["id"])
    cloud.ok("DELETE", f"/v3/users/{user['id']}", status=204)
    assert not cloud.alive(token)
    assert cloud.alive(other)


def test_delete_application_credential(cloud: Cloud) -> None:
    user, a, _ = _two_projects(cloud)
    token = cloud.project_token(user["id"], a["id"])
    path = f"/v3/users/{user['id']}/application_credentials"
    creds = [
        cloud.ok(
            "POST", path, token=token, status=201, json={"application_credential": {"name": n}}
        )["application_credential"]
        for n in ("one", "two")
    ]
    tokens = [
        cloud.issue(
            {
                "auth": {
                    "identity": {
                        "methods": ["application_credential"],
                        "application_credential": {"id": c["id"], "secret": c["secret"]},
                    }
                }
            }
        )[0]
        for c in creds
    ]
    cloud.ok("DELETE", f"{path}/{creds[0]['id']}", token=token, status=204)
    assert not cloud.alive(tokens[0])
    assert cloud.alive(tokens[1])
    assert cloud.alive(token)


def test_revocations_survive_a_restart(cloud: Cloud) -> None:
    user, a, b = _two_projects(cloud)
    revoked = cloud.project_token(user["id"], a["id"])
    kept = cloud.project_token(user["id"], b["id"])
    cloud.ok("PATCH", f"/v3/projects/{a['id']}", json={"project": {"enabled": False}})
    again = restart(cloud)
    try:
        assert not again.alive(revoked)
        assert again.alive(kept)
    finally:
        again.client.close()
        assert again.runtime.db is not None
        again.runtime.db.dispose()


def _app_cred(cloud: Cloud, user: dict[str, Any], token: str) -> dict[str, Any]:
    path = f"/v3/users/{user['id']}/application_credentials"
    body = {"application_credential": {"name": unique("cred")}}
    cred: dict[str, Any] = cloud.ok("POST", path, token=token, status=201, json=body)[
        "application_credential"
    ]
    return cred


def test_disabling_a_user_deletes_its_application_credentials(cloud: Cloud) -> None:
    user, a, _ = _two_projects(cloud)
    cred = _app_cred(cloud, user, cloud.project_token(user["id"], a["id"]))
    cloud.ok("PATCH", f"/v3/users/{user['id']}", json={"user": {"enabled": False}})
    cloud.ok("PATCH", f"/v3/users/{user['id']}", json={"user": {"enabled": True}})
    assert (
        cloud.ok("GET", f"/v3/users/{user['id']}/application_credentials")[
            "application_credentials"
        ]
        == []
    )
    body = {
        "auth": {
            "identity": {
                "methods": ["application_credential"],
                "application_credential": {"id": cred["id"], "secret": cred["secret"]},
            }
        }
    }
    assert_error(cloud.client.post("/v3/auth/tokens", json=body), 401)


def test_deleting_a_role_deletes_application_credentials_on_its_projects(cloud: Cloud) -> None:
    role = cloud.role()
    user, a, b = _two_projects(cloud)
    cloud.grant(role["id"], user=user["id"], project=a["id"])
    on_a = _app_cred(cloud, user, cloud.project_token(user["id"], a["id"]))
    on_b = _app_cred(cloud, user, cloud.project_token(user["id"], b["id"]))
    cloud.ok("DELETE", f"/v3/roles/{role['id']}", status=204)
    left = cloud.ok("GET", f"/v3/users/{user['id']}/application_credentials")
    assert [c["id"] for c in left["application_credentials"]] == [on_b["id"]]
    assert on_a["id"] != on_b["id"]
