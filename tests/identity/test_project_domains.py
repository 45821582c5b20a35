"""Projects acting as domains (``is_domain``) and ``[identity] list_limit`` truncation."""

from __future__ import annotations

import dataclasses

from tests.identity.conftest import Cloud, assert_error, unique


def test_is_domain_project_is_a_domain(cloud: Cloud) -> None:
    name = unique("dom")
    body = {"project": {"name": name, "is_domain": True, "description": "d", "tags": ["a"]}}
    project = cloud.ok("POST", "/v3/projects", status=201, json=body)["project"]
    assert project["is_domain"] is True and project["domain_id"] is None
    assert project["parent_id"] is None and project["tags"] == ["a"]
    # The domains API sees it, and so does the projects API (only when asked).
    assert cloud.ok("GET", f"/v3/domains/{project['id']}")["domain"]["name"] == name
    listed = cloud.ok("GET", "/v3/projects?is_domain=true")["projects"]
    assert project["id"] in {p["id"] for p in listed}
    assert all(p["is_domain"] for p in listed)
    assert "default" in {p["id"] for p in listed}
    plain = cloud.ok("GET", "/v3/projects")["projects"]
    assert project["id"] not in {p["id"] for p in plain}
    assert not any(p["is_domain"] for p in plain)
    assert cloud.ok("GET", "/v3/projects?is_domain=false")["projects"] == plain
    shown = cloud.ok("GET", f"/v3/projects/{project['id']}")["project"]
    assert shown["is_domain"] is True and shown["name"] == name
    # A project can live in it.
    inner = cloud.project(domain_id=project["id"])
    assert inner["domain_id"] == project["id"] and inner["parent_id"] == project["id"]
    # Updates go to the domain; an enabled one cannot be deleted.
    path = f"/v3/projects/{project['id']}"
    assert_error(cloud.delete(path), 400)
    updated = cloud.ok("PATCH", path, json={"project": {"description": "e", "enabled": False}})
    assert updated["project"]["enabled"] is False and updated["project"]["is_domain"] is True
    assert cloud.ok("GET", f"/v3/domains/{project['id']}")["domain"]["enabled"] is False
    assert_error(cloud.patch(path, json={"project": {"is_domain": False}}), 400)
    assert cloud.delete(path).status_code == 204
    assert_error(cloud.get(f"/v3/domains/{project['id']}"), 404)
    assert_error(cloud.get(f"/v3/projects/{inner['id']}"), 404)


def test_is_domain_bad_input(cloud: Cloud) -> None:
    parent = cloud.project()
    for bad in (
        {"name": unique("d"), "is_domain": True, "parent_id": parent["id"]},
        {"name": unique("d"), "is_domain": True, "domain_id": "default"},
        {"name": unique("d"), "is_domain": "yes"},
    ):
        assert_error(cloud.post("/v3/projects", json={"project": bad}), 400)
    taken = {"project": {"name": "Default", "is_domain": True}}
    assert_error(cloud.post("/v3/projects", json=taken), 409)
    _, _, member = cloud.member()
    mine = {"project": {"name": unique("d"), "is_domain": True}}
    assert_error(cloud.post("/v3/projects", token=member, json=mine), 403)


def test_list_limit_truncates(fresh_cloud: Cloud) -> None:
    cloud = fresh_cloud
    for _ in range(3):
        cloud.user()
    deps = cloud.runtime.extra["identity"]
    deps.opts = dataclasses.replace(deps.opts, list_limit=2)
    body = cloud.ok("GET", "/v3/users")
    assert len(body["users"]) == 2 and body["truncated"] is True
    assert "truncated" not in cloud.ok("GET", "/v3/users?name=admin")
    assert cloud.ok("GET", "/v3/roles")["truncated"] is True
