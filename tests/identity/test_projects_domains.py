"""Domains and projects: CRUD, filters, hierarchy and tags."""

from __future__ import annotations

from typing import Any

from tests.identity.conftest import Cloud, assert_error, unique

PROJECT_KEYS = {
    "id",
    "name",
    "domain_id",
    "parent_id",
    "description",
    "enabled",
    "is_domain",
    "tags",
    "options",
    "links",
}


def test_domain_crud(cloud: Cloud) -> None:
    name = unique("dom")
    created = cloud.domain(name, description="first", tags=["a"])
    assert created["name"] == name and created["description"] == "first"
    assert created["enabled"] is True and created["tags"] == ["a"]
    assert created["links"]["self"] == f"http://testserver/v3/domains/{created['id']}"
    assert {"id", "name", "description", "enabled", "tags", "options", "links"} <= set(created)
    shown = cloud.ok("GET", f"/v3/domains/{created['id']}")["domain"]
    assert shown == created
    listed = cloud.ok("GET", f"/v3/domains?name={name}")
    assert [d["id"] for d in listed["domains"]] == [created["id"]]
    assert listed["links"]["self"].startswith("http://testserver/v3/domains")
    assert cloud.head(f"/v3/domains/{created['id']}").status_code == 200
    updated = cloud.ok(
        "PATCH",
        f"/v3/domains/{created['id']}",
        json={"domain": {"description": "second", "enabled": False}},
    )["domain"]
    assert updated["description"] == "second" and updated["enabled"] is False
    enabled = {d["id"] for d in cloud.ok("GET", "/v3/domains?enabled=false")["domains"]}
    assert created["id"] in enabled
    cloud.ok("DELETE", f"/v3/domains/{created['id']}", status=204)
    assert_error(cloud.get(f"/v3/domains/{created['id']}"), 404)


def test_domain_explicit_id_and_extra(cloud: Cloud) -> None:
    explicit = unique("explicit")
    created = cloud.domain(explicit_domain_id=explicit, colour="blue")
    assert created["id"] == explicit and created["colour"] == "blue"
    assert cloud.ok("GET", f"/v3/domains/{explicit}")["domain"]["colour"] == "blue"


def test_enabled_domain_cannot_be_deleted(cloud: Cloud) -> None:
    domain = cloud.domain()
    assert_error(cloud.delete(f"/v3/domains/{domain['id']}"), 403)
    assert_error(cloud.patch("/v3/domains/default", json={"domain": {"enabled": False}}), 400)


def test_delete_domain_cascades(cloud: Cloud) -> None:
    domain = cloud.domain()
    parent = cloud.project(domain_id=domain["id"])
    child = cloud.project(parent_id=parent["id"])
    cloud.ok("PUT", f"/v3/projects/{child['id']}/tags/t1", status=201)
    user = cloud.user(domain_id=domain["id"])
    group = cloud.group(domain_id=domain["id"])
    cloud.ok("PUT", f"/v3/groups/{group['id']}/users/{user['id']}", status=204)
    role = cloud.role(domain_id=domain["id"])
    outsider = cloud.user()
    cloud.grant("member", user=outsider["id"], project=child["id"])
    cloud.grant("member", user=user["id"], project=parent["id"])
    cloud.grant("reader", group=group["id"], domain=domain["id"])
    cloud.grant("member", user=user["id"], project=cloud.ids["demo_project"])
    outsider_token = cloud.project_token(outsider["id"], child["id"])
    cloud.ok("PATCH", f"/v3/domains/{domain['id']}", json={"domain": {"enabled": False}})
    cloud.ok("DELETE", f"/v3/domains/{domain['id']}", status=204)
    for path in (
        f"/v3/domains/{domain['id']}",
        f"/v3/projects/{parent['id']}",
        f"/v3/projects/{child['id']}",
        f"/v3/users/{user['id']}",
        f"/v3/groups/{group['id']}",
        f"/v3/roles/{role['id']}",
    ):
        assert_error(cloud.get(path), 404)
    assert not cloud.alive(outsider_token)
    rows = cloud.ok("GET", f"/v3/role_assignments?user.id={outsider['id']}")["role_assignments"]
    assert rows == []
    rows = cloud.ok("GET", f"/v3/role_assignments?scope.project.id={cloud.ids['demo_project']}")
    assert user["id"] not in {r.get("user", {}).get("id") for r in rows["role_assignments"]}


def test_project_crud(cloud: Cloud) -> None:
    name = unique("proj")
    created = cloud.project(name, description="d", tags=["x", "y"])
    assert set(created) >= PROJECT_KEYS
    assert created["name"] == name and created["domain_id"] == "default"
    assert created["parent_id"] == "default"  # a top-level project's parent is its domain
    assert created["is_domain"] is False and created["enabled"] is True
    assert created["tags"] == ["x", "y"]
    assert created["links"]["self"] == f"http://testserver/v3/projects/{created['id']}"
    assert cloud.ok("GET", f"/v3/projects/{created['id']}")["project"] == created
    updated = cloud.ok(
        "PATCH",
        f"/v3/projects/{created['id']}",
        json={"project": {"name": name + "-2", "description": "e", "enabled": False}},
    )["project"]
    assert (updated["name"], updated["description"], updated["enabled"]) == (
        name + "-2",
        "e",
        False,
    )
    cloud.ok("DELETE", f"/v3/projects/{created['id']}", status=204)
    assert_error(cloud.get(f"/v3/projects/{created['id']}"), 404)
    assert_error(cloud.delete(f"/v3/projects/{created['id']}"), 404)


def test_project_extra_attributes_kept(cloud: Cloud) -> None:
    created = cloud.project(flavour="vanilla")
    assert created["flavour"] == "vanilla"
    updated = cloud.ok("PATCH", f"/v3/projects/{created['id']}", json={"project": {"size": 3}})
    assert updated["project"]["flavour"] == "vanilla" and updated["project"]["size"] == 3


def test_project_filters(cloud: Cloud) -> None:
    domain = cloud.domain()
    a = cloud.project(domain_id=domain["id"])
    b = cloud.project(domain_id=domain["id"], enabled=False)
    listed = cloud.ok("GET", f"/v3/projects?domain_id={domain['id']}")["projects"]
    assert {p["id"] for p in listed} == {a["id"], b["id"]}
    listed = cloud.ok("GET", f"/v3/projects?domain_id={domain['id']}&enabled=false")["projects"]
    assert [p["id"] for p in listed] == [b["id"]]
    listed = cloud.ok("GET", f"/v3/projects?name={a['name']}")["projects"]
    assert [p["id"] for p in listed] == [a["id"]]
    assert cloud.ok("GET", "/v3/projects?name=nothing-like-this")["projects"] == []


def test_project_hierarchy(cloud: Cloud) -> None:
    top = cloud.project()
    mid = cloud.project(parent_id=top["id"])
    leaf1 = cloud.project(parent_id=mid["id"])
    leaf2 = cloud.project(parent_id=mid["id"])
    assert mid["parent_id"] == top["id"] and leaf1["domain_id"] == "default"
    children = cloud.ok("GET", f"/v3/projects?parent_id={mid['id']}")["projects"]
    assert {p["id"] for p in children} == {leaf1["id"], leaf2["id"]}
    shown = cloud.ok("GET", f"/v3/projects/{leaf1['id']}?parents_as_ids")["project"]
    assert shown["parents"] == {mid["id"]: {top["id"]: {"default": None}}}
    shown = cloud.ok("GET", f"/v3/projects/{top['id']}?subtree_as_ids")["project"]
    assert shown["subtree"] == {mid["id"]: {leaf1["id"]: None, leaf2["id"]: None}}
    shown = cloud.ok("GET", f"/v3/projects/{top['id']}?parents_as_ids&subtree_as_ids")["project"]
    assert shown["parents"] == {"default": None}
    assert shown["subtree"] == {mid["id"]: {leaf1["id"]: None, leaf2["id"]: None}}
    assert (
        cloud.ok("GET", f"/v3/projects/{leaf2['id']}?subtree_as_ids")["project"]["subtree"] is None
    )
    # A parent with children cannot be deleted; the parent cannot change.
    assert_error(cloud.delete(f"/v3/projects/{mid['id']}"), 403)
    other = cloud.project()
    assert_error(
        cloud.patch(f"/v3/projects/{leaf1['id']}", json={"project": {"parent_id": other["id"]}}),
        403,
    )
    # A parent given as a domain id makes a top-level project.
    domain = cloud.domain()
    under_domain = cloud.project(parent_id=domain["id"])
    assert under_domain["domain_id"] == domain["id"] and under_domain["parent_id"] == domain["id"]
    # A child in another domain than its parent is refused.
    assert_error(
        cloud.post(
            "/v3/projects",
            json={"project": {"name": unique(), "parent_id": top["id"], "domain_id": domain["id"]}},
        ),
        400,
    )
    assert_error(
        cloud.post("/v3/projects", json={"project": {"name": unique(), "parent_id": "nope"}}), 404
    )


def test_same_name_in_two_domains_and_under_two_parents(cloud: Cloud) -> None:
    name = unique()
    cloud.project(name)
    cloud.project(name, domain_id=cloud.domain()["id"])
    assert_error(cloud.post("/v3/projects", json={"project": {"name": name}}), 409)


def _ids(cloud: Cloud, query: str, among: set[str]) -> set[str]:
    got = {p["id"] for p in cloud.ok("GET", "/v3/projects?" + query)["projects"]}
    return got & among


def test_project_tags_and_tag_filters(cloud: Cloud) -> None:
    t1, t2, t3 = unique("t"), unique("t"), unique("t")
    p12 = cloud.project(tags=[t1, t2])
    p1 = cloud.project(tags=[t1])
    p3 = cloud.project(tags=[t3])
    none = cloud.project()
    everyone = {p12["id"], p1["id"], p3["id"], none["id"]}
    assert _ids(cloud, f"tags={t1},{t2}", everyone) == {p12["id"]}
    assert _ids(cloud, f"tags={t1}", everyone) == {p12["id"], p1["id"]}
    assert _ids(cloud, f"tags-any={t2},{t3}", everyone) == {p12["id"], p3["id"]}
    assert _ids(cloud, f"not-tags={t1},{t2}", everyone) == {p1["id"], p3["id"], none["id"]}
    assert _ids(cloud, f"not-tags-any={t1},{t3}", everyone) == {none["id"]}
    assert _ids(cloud, f"tags={t1}&not-tags={t2}", everyone) == {p1["id"]}


def test_project_tag_endpoints(cloud: Cloud) -> None:
    project = cloud.project()
    base = f"/v3/projects/{project['id']}/tags"
    assert cloud.ok("GET", base)["tags"] == []
    response = cloud.put(f"{base}/alpha")
    assert response.status_code == 201
    assert response.headers["Location"].endswith(f"/v3/projects/{project['id']}/tags/alpha")
    cloud.ok("PUT", f"{base}/alpha", status=201)  # idempotent
    assert cloud.get(f"{base}/alpha").status_code == 204
    assert cloud.head(f"{base}/alpha").status_code == 204
    assert_error(cloud.get(f"{base}/beta"), 404)
    assert cloud.ok("PUT", base, json={"tags": ["b", "c", "b"]})["tags"] == ["b", "c"]
    assert sorted(cloud.ok("GET", base)["tags"]) == ["b", "c"]
    assert cloud.ok("GET", f"/v3/projects/{project['id']}")["project"]["tags"] == ["b", "c"]
    cloud.ok("DELETE", f"{base}/b", status=204)
    assert_error(cloud.delete(f"{base}/b"), 404)
    assert cloud.ok("GET", base)["tags"] == ["c"]
    cloud.ok("DELETE", base, status=204)
    assert cloud.ok("GET", base)["tags"] == []
    assert_error(cloud.put(base, json={"tags": ["a,b"]}), 400)
    assert_error(cloud.put(base, json={"tags": ["x" * 256]}), 400)
    assert_error(cloud.put(base, json={"tags": [f"t{i}" for i in range(81)]}), 400)
    assert_error(cloud.put(f"{base}/a,b"), 400)
    assert_error(cloud.get("/v3/projects/nope/tags"), 404)


def test_project_update_rules(cloud: Cloud) -> None:
    project = cloud.project()
    other = cloud.project()
    path = f"/v3/projects/{project['id']}"
    assert_error(cloud.patch(path, json={"project": {"name": other["name"]}}), 409)
    assert_error(cloud.patch(path, json={"project": {"domain_id": cloud.domain()["id"]}}), 400)
    assert_error(cloud.patch(path, json={"project": {"is_domain": True}}), 400)
    # Sending the current values back is fine (clients do).
    same = {"name": project["name"], "domain_id": "default", "parent_id": project["parent_id"]}
    assert cloud.ok("PATCH", path, json={"project": same})["project"]["name"] == project["name"]


def test_project_delete_removes_assignments(cloud: Cloud) -> None:
    project = cloud.project()
    user = cloud.user()
    cloud.grant("member", user=user["id"], project=project["id"])
    cloud.ok("DELETE", f"/v3/projects/{project['id']}", status=204)
    rows: list[Any] = cloud.ok("GET", f"/v3/role_assignments?user.id={user['id']}")[
        "role_assignments"
    ]
    assert rows == []


def test_hierarchy_rules_on_enabled_and_depth(cloud: Cloud) -> None:
    top = cloud.project()
    child = cloud.project(parent_id=top["id"])
    top_path, child_path = f"/v3/projects/{top['id']}", f"/v3/projects/{child['id']}"
    # A project with enabled children cannot be disabled.
    assert_error(cloud.patch(top_path, json={"project": {"enabled": False}}), 403)
    cloud.ok("PATCH", child_path, json={"project": {"enabled": False}})
    cloud.ok("PATCH", top_path, json={"project": {"enabled": False}})
    # No new child under a disabled branch; a child cannot be enabled under it.
    assert_error(
        cloud.post("/v3/projects", json={"project": {"name": unique(), "parent_id": top["id"]}}),
        400,
    )
    assert_error(cloud.patch(child_path, json={"project": {"enabled": True}}), 403)
    cloud.ok("PATCH", top_path, json={"project": {"enabled": True}})
    cloud.ok("PATCH", child_path, json={"project": {"enabled": True}})
    # Five levels of projects at most (upstream's max_project_tree_depth).
    parent = child
    for _ in range(3):
        parent = cloud.project(parent_id=parent["id"])
    body = {"project": {"name": unique(), "parent_id": parent["id"]}}
    assert_error(cloud.post("/v3/projects", json=body), 403)
