"""Users (options, default project, extra attributes) and groups with membership."""

from __future__ import annotations

from tests.identity.conftest import Cloud, assert_error, unique

USER_KEYS = {"id", "name", "domain_id", "enabled", "password_expires_at", "options", "links"}


def test_user_crud(cloud: Cloud) -> None:
    project = cloud.project()
    name = unique("user")
    created = cloud.user(
        name,
        description="someone",
        default_project_id=project["id"],
        email="someone@example.com",
        options={"ignore_password_expiry": True},
    )
    assert set(created) >= USER_KEYS
    assert "password" not in created and "password_hash" not in created
    assert created["name"] == name and created["domain_id"] == "default"
    assert created["enabled"] is True and created["password_expires_at"] is None
    assert created["default_project_id"] == project["id"]
    assert created["description"] == "someone"
    assert created["email"] == "someone@example.com"
    assert created["options"] == {"ignore_password_expiry": True}
    assert created["links"]["self"] == f"http://testserver/v3/users/{created['id']}"
    assert cloud.ok("GET", f"/v3/users/{created['id']}")["user"] == created
    updated = cloud.ok(
        "PATCH",
        f"/v3/users/{created['id']}",
        json={
            "user": {
                "email": "new@example.com",
                "enabled": False,
                "options": {"lock_password": True},
            }
        },
    )["user"]
    assert updated["email"] == "new@example.com" and updated["enabled"] is False
    assert updated["options"] == {"ignore_password_expiry": True, "lock_password": True}
    # An option set to null is removed.
    updated = cloud.ok(
        "PATCH", f"/v3/users/{created['id']}", json={"user": {"options": {"lock_password": None}}}
    )["user"]
    assert updated["options"] == {"ignore_password_expiry": True}
    cloud.ok("DELETE", f"/v3/users/{created['id']}", status=204)
    assert_error(cloud.get(f"/v3/users/{created['id']}"), 404)
    assert_error(cloud.delete(f"/v3/users/{created['id']}"), 404)


def test_user_without_password_cannot_authenticate(cloud: Cloud) -> None:
    user = cloud.user(password=None)
    response = cloud.client.post(
        "/v3/auth/tokens",
        json={
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"id": user["id"], "password": ""}},
                }
            }
        },
    )
    assert_error(response, 401)


def test_user_filters(cloud: Cloud) -> None:
    domain = cloud.domain()
    a = cloud.user(domain_id=domain["id"])
    b = cloud.user(domain_id=domain["id"], enabled=False)
    listed = cloud.ok("GET", f"/v3/users?domain_id={domain['id']}")
    assert {u["id"] for u in listed["users"]} == {a["id"], b["id"]}
    assert listed["links"]["self"].startswith("http://testserver/v3/users")
    listed = cloud.ok("GET", f"/v3/users?domain_id={domain['id']}&enabled=true")["users"]
    assert [u["id"] for u in listed] == [a["id"]]
    assert [u["id"] for u in cloud.ok("GET", f"/v3/users?name={b['name']}")["users"]] == [b["id"]]
    assert cloud.head("/v3/users").status_code == 200


def test_user_names_unique_per_domain(cloud: Cloud) -> None:
    name = unique()
    cloud.user(name)
    cloud.user(name, domain_id=cloud.domain()["id"])
    assert_error(cloud.post("/v3/users", json={"user": {"name": name}}), 409)
    other = cloud.user()
    assert_error(cloud.patch(f"/v3/users/{other['id']}", json={"user": {"name": name}}), 409)


def test_user_invalid_option_and_domain(cloud: Cloud) -> None:
    assert_error(
        cloud.post("/v3/users", json={"user": {"name": unique(), "options": {"nope": 1}}}), 400
    )
    assert_error(
        cloud.post("/v3/users", json={"user": {"name": unique(), "domain_id": "nope"}}), 404
    )
    user = cloud.user()
    assert_error(
        cloud.patch(f"/v3/users/{user['id']}", json={"user": {"domain_id": cloud.domain()["id"]}}),
        400,
    )


def test_locked_password_cannot_be_changed_by_user(cloud: Cloud) -> None:
    user = cloud.user(options={"lock_password": True})
    body = {"user": {"original_password": "secret", "password": "other"}}
    response = cloud.post(f"/v3/users/{user['id']}/password", token=None, json=body)
    assert response.status_code == 400, response.text
    # An admin still can.
    cloud.ok("PATCH", f"/v3/users/{user['id']}", json={"user": {"password": "other"}})
    cloud.login(user["id"], "other")


def test_change_password_of_missing_user_is_404(cloud: Cloud) -> None:
    body = {"user": {"original_password": "a", "password": "b"}}
    assert_error(cloud.post("/v3/users/nope/password", token=None, json=body), 404)


def test_user_projects_and_groups(cloud: Cloud) -> None:
    user = cloud.user()
    group = cloud.group()
    direct, via_group, disabled = cloud.project(), cloud.project(), cloud.project(enabled=False)
    cloud.ok("PUT", f"/v3/groups/{group['id']}/users/{user['id']}", status=204)
    cloud.grant("member", user=user["id"], project=direct["id"])
    cloud.grant("reader", group=group["id"], project=via_group["id"])
    cloud.grant("reader", user=user["id"], project=disabled["id"])
    listed = cloud.ok("GET", f"/v3/users/{user['id']}/projects")
    assert {p["id"] for p in listed["projects"]} == {direct["id"], via_group["id"], disabled["id"]}
    only = cloud.ok("GET", f"/v3/users/{user['id']}/projects?enabled=false")["projects"]
    assert [p["id"] for p in only] == [disabled["id"]]
    groups = cloud.ok("GET", f"/v3/users/{user['id']}/groups")
    assert [g["id"] for g in groups["groups"]] == [group["id"]]
    assert groups["links"]["self"].endswith(f"/v3/users/{user['id']}/groups")
    assert_error(cloud.get("/v3/users/nope/projects"), 404)
    assert_error(cloud.get("/v3/users/nope/groups"), 404)


def test_group_crud_and_membership(cloud: Cloud) -> None:
    name = unique("grp")
    group = cloud.group(name, description="d", colour="red")
    assert group["name"] == name and group["domain_id"] == "default"
    assert group["description"] == "d" and group["colour"] == "red"
    assert group["links"]["self"] == f"http://testserver/v3/groups/{group['id']}"
    assert cloud.ok("GET", f"/v3/groups/{group['id']}")["group"] == group
    assert [g["id"] for g in cloud.ok("GET", f"/v3/groups?name={name}")["groups"]] == [group["id"]]
    updated = cloud.ok("PATCH", f"/v3/groups/{group['id']}", json={"group": {"description": "e"}})
    assert updated["group"]["description"] == "e" and updated["group"]["colour"] == "red"
    users = [cloud.user(), cloud.user()]
    base = f"/v3/groups/{group['id']}/users"
    for user in users:
        cloud.ok("PUT", f"{base}/{user['id']}", status=204)
    cloud.ok("PUT", f"{base}/{users[0]['id']}", status=204)  # idempotent
    members = cloud.ok("GET", base)["users"]
    assert {u["id"] for u in members} == {u["id"] for u in users}
    assert cloud.head(f"{base}/{users[0]['id']}").status_code == 204
    assert cloud.get(f"{base}/{users[0]['id']}").status_code == 204
    cloud.ok("DELETE", f"{base}/{users[0]['id']}", status=204)
    assert_error(cloud.get(f"{base}/{users[0]['id']}"), 404)
    assert_error(cloud.delete(f"{base}/{users[0]['id']}"), 404)
    assert_error(cloud.put(f"{base}/nope"), 404)
    assert_error(cloud.put(f"/v3/groups/nope/users/{users[0]['id']}"), 404)
    cloud.ok("DELETE", f"/v3/groups/{group['id']}", status=204)
    assert_error(cloud.get(f"/v3/groups/{group['id']}"), 404)
    assert cloud.ok("GET", f"/v3/users/{users[1]['id']}/groups")["groups"] == []


def test_group_names_unique_per_domain(cloud: Cloud) -> None:
    name = unique()
    cloud.group(name)
    cloud.group(name, domain_id=cloud.domain()["id"])
    assert_error(cloud.post("/v3/groups", json={"group": {"name": name}}), 409)
    domain = cloud.domain()
    listed = cloud.ok("GET", f"/v3/groups?domain_id={domain['id']}")["groups"]
    assert listed == []


def test_delete_user_removes_memberships_and_assignments(cloud: Cloud) -> None:
    user = cloud.user()
    group = cloud.group()
    project = cloud.project()
    cloud.ok("PUT", f"/v3/groups/{group['id']}/users/{user['id']}", status=204)
    cloud.grant("member", user=user["id"], project=project["id"])
    cloud.ok("DELETE", f"/v3/users/{user['id']}", status=204)
    assert cloud.ok("GET", f"/v3/groups/{group['id']}/users")["users"] == []
    rows = cloud.ok("GET", f"/v3/role_assignments?scope.project.id={project['id']}")
    assert rows["role_assignments"] == []


def test_disabled_user_cannot_change_password(cloud: Cloud) -> None:
    user = cloud.user(enabled=False)
    body = {"user": {"original_password": "secret", "password": "other"}}
    assert_error(cloud.post(f"/v3/users/{user['id']}/password", token=None, json=body), 401)
