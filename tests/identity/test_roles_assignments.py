"""Roles, domain-specific roles, implied roles, grants and ``/v3/role_assignments``."""

from __future__ import annotations

from typing import Any

from tests.identity.conftest import Cloud, assert_error, unique

BASE = "http://testserver/v3"


def test_role_crud(cloud: Cloud) -> None:
    name = unique("role")
    role = cloud.role(name, description="d", shade="dark")
    assert role["name"] == name and role["domain_id"] is None
    assert role["description"] == "d" and role["shade"] == "dark" and role["options"] == {}
    assert role["links"]["self"] == f"{BASE}/roles/{role['id']}"
    assert cloud.ok("GET", f"/v3/roles/{role['id']}")["role"] == role
    assert [r["id"] for r in cloud.ok("GET", f"/v3/roles?name={name}")["roles"]] == [role["id"]]
    updated = cloud.ok("PATCH", f"/v3/roles/{role['id']}", json={"role": {"description": "e"}})
    assert updated["role"]["description"] == "e" and updated["role"]["shade"] == "dark"
    assert_error(cloud.post("/v3/roles", json={"role": {"name": name}}), 409)
    cloud.ok("DELETE", f"/v3/roles/{role['id']}", status=204)
    assert_error(cloud.get(f"/v3/roles/{role['id']}"), 404)


def test_bootstrap_roles_and_immutable_option(cloud: Cloud) -> None:
    names = {r["name"] for r in cloud.ok("GET", "/v3/roles")["roles"]}
    assert {"admin", "member", "reader", "service"} <= names
    role = cloud.role(options={"immutable": True})
    assert role["options"] == {"immutable": True}
    assert_error(cloud.delete(f"/v3/roles/{role['id']}"), 403)
    assert_error(cloud.patch(f"/v3/roles/{role['id']}", json={"role": {"name": unique()}}), 403)
    cloud.ok("PATCH", f"/v3/roles/{role['id']}", json={"role": {"options": {"immutable": False}}})
    cloud.ok("DELETE", f"/v3/roles/{role['id']}", status=204)


def test_domain_specific_roles(cloud: Cloud) -> None:
    domain, other = cloud.domain(), cloud.domain()
    name = unique("dsr")
    global_role = cloud.role(name)
    dsr = cloud.role(name, domain_id=domain["id"])  # same name, other namespace
    assert dsr["domain_id"] == domain["id"]
    assert_error(
        cloud.post("/v3/roles", json={"role": {"name": name, "domain_id": domain["id"]}}), 409
    )
    in_domain = cloud.ok("GET", f"/v3/roles?domain_id={domain['id']}")["roles"]
    assert [r["id"] for r in in_domain] == [dsr["id"]]
    assert dsr["id"] not in {r["id"] for r in cloud.ok("GET", "/v3/roles")["roles"]}
    assert global_role["id"] in {r["id"] for r in cloud.ok("GET", "/v3/roles")["roles"]}
    # Granted only within its domain.
    user = cloud.user()
    outside = cloud.project(domain_id=other["id"])
    assert_error(
        cloud.put(cloud.grant_path(dsr["id"], user=user["id"], project=outside["id"])), 403
    )
    # It is not in tokens itself, only the global roles it implies are.
    project = cloud.project(domain_id=domain["id"])
    cloud.ok("PUT", f"/v3/roles/{dsr['id']}/implies/{cloud.role_id('member')}", status=201)
    cloud.grant(dsr["id"], user=user["id"], project=project["id"])
    _, token = cloud.login(user["id"], scope={"project": {"id": project["id"]}})
    assert {r["name"] for r in token["roles"]} == {"member", "reader"}
    # A global role cannot imply a domain-specific one.
    assert_error(cloud.put(f"/v3/roles/{global_role['id']}/implies/{dsr['id']}"), 403)
    assert_error(
        cloud.post("/v3/roles", json={"role": {"name": unique(), "domain_id": "nope"}}), 404
    )


def test_implied_roles(cloud: Cloud) -> None:
    a, b, c = cloud.role(), cloud.role(), cloud.role()
    created = cloud.ok("PUT", f"/v3/roles/{a['id']}/implies/{b['id']}", status=201)
    assert created == {
        "role_inference": {
            "prior_role": {
                "id": a["id"],
                "name": a["name"],
                "links": {"self": f"{BASE}/roles/{a['id']}"},
            },
            "implies": {
                "id": b["id"],
                "name": b["name"],
                "links": {"self": f"{BASE}/roles/{b['id']}"},
            },
        },
        "links": {"self": f"{BASE}/roles/{a['id']}/implies/{b['id']}"},
    }
    cloud.ok("PUT", f"/v3/roles/{b['id']}/implies/{c['id']}", status=201)
    assert cloud.ok("GET", f"/v3/roles/{a['id']}/implies/{b['id']}") == created
    assert cloud.head(f"/v3/roles/{a['id']}/implies/{b['id']}").status_code == 204
    assert_error(cloud.get(f"/v3/roles/{a['id']}/implies/{c['id']}"), 404)
    listed = cloud.ok("GET", f"/v3/roles/{a['id']}/implies")
    assert [r["id"] for r in listed["role_inference"]["implies"]] == [b["id"]]
    assert listed["links"]["self"] == f"{BASE}/roles/{a['id']}/implies"
    rules = cloud.ok("GET", "/v3/role_inferences")["role_inferences"]
    by_prior = {r["prior_role"]["id"]: [i["id"] for i in r["implies"]] for r in rules}
    assert by_prior[a["id"]] == [b["id"]] and by_prior[b["id"]] == [c["id"]]
    # upstream's default hierarchy: admin => manager => member => reader
    assert by_prior[cloud.role_id("admin")] == [cloud.role_id("manager")]
    assert by_prior[cloud.role_id("manager")] == [cloud.role_id("member")]
    # Loops are refused, directly or through a chain; admin cannot be implied.
    assert_error(cloud.put(f"/v3/roles/{c['id']}/implies/{a['id']}"), 403)
    assert_error(cloud.put(f"/v3/roles/{a['id']}/implies/{a['id']}"), 403)
    assert_error(cloud.put(f"/v3/roles/{a['id']}/implies/{cloud.role_id('admin')}"), 403)
    assert_error(cloud.put(f"/v3/roles/{a['id']}/implies/nope"), 404)
    # Transitive implication reaches tokens.
    project, user, _ = cloud.member()
    cloud.grant(a["id"], user=user["id"], project=project["id"])
    _, token = cloud.login(user["id"], scope={"project": {"id": project["id"]}})
    assert {a["name"], b["name"], c["name"]} <= {r["name"] for r in token["roles"]}
    cloud.ok("DELETE", f"/v3/roles/{a['id']}/implies/{b['id']}", status=204)
    assert_error(cloud.delete(f"/v3/roles/{a['id']}/implies/{b['id']}"), 404)
    # Deleting a role drops its rules.
    cloud.ok("DELETE", f"/v3/roles/{c['id']}", status=204)
    assert cloud.ok("GET", f"/v3/roles/{b['id']}/implies")["role_inference"]["implies"] == []


def test_grants_on_projects_and_domains(cloud: Cloud) -> None:
    user, group = cloud.user(), cloud.group()
    project, domain = cloud.project(), cloud.domain()
    role = cloud.role()
    for where in (
        {"user": user["id"], "project": project["id"]},
        {"group": group["id"], "project": project["id"]},
        {"user": user["id"], "domain": domain["id"]},
        {"group": group["id"], "domain": domain["id"]},
    ):
        for inherited in (False, True):
            path = cloud.grant_path(role["id"], inherited=inherited, **where)
            assert_error(cloud.get(path), 404)
            cloud.ok("PUT", path, status=204)
            cloud.ok("PUT", path, status=204)  # idempotent
            assert cloud.get(path).status_code == 204
            assert cloud.head(path).status_code == 204
            listing = cloud.ok(
                "GET",
                path.rsplit("/", 2 if inherited else 1)[0]
                + ("/inherited_to_projects" if inherited else ""),
            )
            assert [r["id"] for r in listing["roles"]] == [role["id"]]
            assert listing["roles"][0]["links"]["self"] == f"{BASE}/roles/{role['id']}"
        # The plain and the inherited grant are separate.
        cloud.ok("DELETE", cloud.grant_path(role["id"], **where), status=204)
        assert cloud.get(cloud.grant_path(role["id"], inherited=True, **where)).status_code == 204
        cloud.ok("DELETE", cloud.grant_path(role["id"], inherited=True, **where), status=204)
        assert_error(cloud.delete(cloud.grant_path(role["id"], **where)), 404)
    assert_error(cloud.put(cloud.grant_path(role["id"], user="nope", project=project["id"])), 404)
    assert_error(cloud.put(cloud.grant_path(role["id"], user=user["id"], project="nope")), 404)
    assert_error(cloud.put(cloud.grant_path("nope", user=user["id"], project=project["id"])), 404)
    assert_error(cloud.put(cloud.grant_path(role["id"], group="nope", domain=domain["id"])), 404)


def test_inherited_grants_reach_tokens(cloud: Cloud) -> None:
    domain = cloud.domain()
    top = cloud.project(domain_id=domain["id"])
    child = cloud.project(parent_id=top["id"])
    user = cloud.user()
    # Inherited on a domain: every project in it, not the domain itself.
    cloud.grant("reader", user=user["id"], domain=domain["id"], inherited=True)
    for project in (top, child):
        _, token = cloud.login(user["id"], scope={"project": {"id": project["id"]}})
        assert [r["name"] for r in token["roles"]] == ["reader"]
    response = cloud.client.post(
        "/v3/auth/tokens",
        json={
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"id": user["id"], "password": "secret"}},
                },
                "scope": {"domain": {"id": domain["id"]}},
            }
        },
    )
    assert_error(response, 401)
    # Inherited on a project: its subtree, not the project itself.
    other = cloud.user()
    cloud.grant("member", user=other["id"], project=top["id"], inherited=True)
    _, token = cloud.login(other["id"], scope={"project": {"id": child["id"]}})
    assert {r["name"] for r in token["roles"]} == {"member", "reader"}
    response = cloud.client.post(
        "/v3/auth/tokens",
        json={
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"id": other["id"], "password": "secret"}},
                },
                "scope": {"project": {"id": top["id"]}},
            }
        },
    )
    assert_error(response, 401)


def test_system_grants(cloud: Cloud) -> None:
    user, group = cloud.user(), cloud.group()
    reader = cloud.role_id("reader")
    for actor in (f"users/{user['id']}", f"groups/{group['id']}"):
        path = f"/v3/system/{actor}/roles/{reader}"
        assert_error(cloud.get(path), 404)
        cloud.ok("PUT", path, status=204)
        assert cloud.get(path).status_code == 204
        assert cloud.head(path).status_code == 204
        roles = cloud.ok("GET", f"/v3/system/{actor}/roles")["roles"]
        assert [r["id"] for r in roles] == [reader]
    _, token = cloud.login(user["id"], scope={"system": {"all": True}})
    assert token["system"] == {"all": True} and [r["name"] for r in token["roles"]] == ["reader"]
    rows = cloud.ok("GET", f"/v3/role_assignments?user.id={user['id']}")["role_assignments"]
    assert rows == [
        {
            "role": {"id": reader},
            "scope": {"system": {"all": True}},
            "user": {"id": user["id"]},
            "links": {"assignment": f"{BASE}/system/users/{user['id']}/roles/{reader}"},
        }
    ]
    rows = cloud.ok("GET", "/v3/role_assignments?scope.system=all")["role_assignments"]
    assert {"id": group["id"]} in [r.get("group") for r in rows]
    assert all(r["scope"] == {"system": {"all": True}} for r in rows)
    for actor in (f"users/{user['id']}", f"groups/{group['id']}"):
        cloud.ok("DELETE", f"/v3/system/{actor}/roles/{reader}", status=204)
        assert_error(cloud.get(f"/v3/system/{actor}/roles/{reader}"), 404)


def _scenario(cloud: Cloud) -> dict[str, Any]:
    """user in group; group member on project; user reader on domain (direct);
    user inherited admin on parent project; role ids for checks."""
    domain = cloud.domain()
    parent = cloud.project(domain_id=domain["id"])
    child = cloud.project(parent_id=parent["id"])
    user, group = cloud.user(), cloud.group()
    cloud.ok("PUT", f"/v3/groups/{group['id']}/users/{user['id']}", status=204)
    project = cloud.project()
    cloud.grant("member", group=group["id"], project=project["id"])
    cloud.grant("reader", user=user["id"], domain=domain["id"])
    cloud.grant("admin", user=user["id"], project=parent["id"], inherited=True)
    return {
        "domain": domain,
        "parent": parent,
        "child": child,
        "user": user,
        "group": group,
        "project": project,
    }


def test_role_assignments_raw(cloud: Cloud) -> None:
    s = _scenario(cloud)
    user, group = s["user"], s["group"]
    rows = cloud.ok("GET", f"/v3/role_assignments?user.id={user['id']}")["role_assignments"]
    admin, member, reader = (cloud.role_id(n) for n in ("admin", "member", "reader"))
    domain_path = f"{BASE}/domains/{s['domain']['id']}"
    inherit_path = f"{BASE}/OS-INHERIT/projects/{s['parent']['id']}"
    project_path = f"{BASE}/projects/{s['project']['id']}"
    expected: list[dict[str, Any]] = [
        {
            "role": {"id": reader},
            "scope": {"domain": {"id": s["domain"]["id"]}},
            "user": {"id": user["id"]},
            "links": {"assignment": f"{domain_path}/users/{user['id']}/roles/{reader}"},
        },
        {
            "role": {"id": admin},
            "scope": {
                "project": {"id": s["parent"]["id"]},
                "OS-INHERIT:inherited_to": "projects",
            },
            "user": {"id": user["id"]},
            "links": {
                "assignment": f"{inherit_path}/users/{user['id']}/roles/{admin}"
                "/inherited_to_projects"
            },
        },
    ]
    assert sorted(rows, key=lambda r: r["role"]["id"]) == sorted(
        expected, key=lambda r: r["role"]["id"]
    )
    rows = cloud.ok("GET", f"/v3/role_assignments?group.id={group['id']}")["role_assignments"]
    assert rows == [
        {
            "role": {"id": member},
            "scope": {"project": {"id": s["project"]["id"]}},
            "group": {"id": group["id"]},
            "links": {"assignment": f"{project_path}/groups/{group['id']}/roles/{member}"},
        }
    ]
    by_role = cloud.ok(
        "GET", f"/v3/role_assignments?role.id={member}&scope.project.id={s['project']['id']}"
    )
    assert [r["group"]["id"] for r in by_role["role_assignments"]] == [group["id"]]
    by_domain = cloud.ok("GET", f"/v3/role_assignments?scope.domain.id={s['domain']['id']}")
    assert [r["user"]["id"] for r in by_domain["role_assignments"]] == [user["id"]]
    inherited = cloud.ok(
        "GET", f"/v3/role_assignments?user.id={user['id']}&scope.OS-INHERIT:inherited_to=projects"
    )["role_assignments"]
    assert [r["role"]["id"] for r in inherited] == [admin]
    listing = cloud.ok("GET", "/v3/role_assignments")
    assert listing["links"]["self"].startswith(f"{BASE}/role_assignments")
    assert cloud.head("/v3/role_assignments").status_code == 200


def test_role_assignments_effective(cloud: Cloud) -> None:
    s = _scenario(cloud)
    user, group = s["user"], s["group"]
    admin, member, reader = (cloud.role_id(n) for n in ("admin", "member", "reader"))
    manager = cloud.role_id("manager")
    rows = cloud.ok("GET", f"/v3/role_assignments?user.id={user['id']}&effective")[
        "role_assignments"
    ]
    got = {
        (r["role"]["id"], next(iter(r["scope"])), next(iter(r["scope"].values()))["id"])
        for r in rows
        if "system" not in r["scope"]
    }
    assert got == {
        (member, "project", s["project"]["id"]),
        (reader, "project", s["project"]["id"]),
        (reader, "domain", s["domain"]["id"]),
        (admin, "project", s["child"]["id"]),
        (manager, "project", s["child"]["id"]),
        (member, "project", s["child"]["id"]),
        (reader, "project", s["child"]["id"]),
    }
    assert all("group" not in r for r in rows)
    by_key = {(r["role"]["id"], next(iter(r["scope"].values()))["id"]): r for r in rows}
    via_group = by_key[(member, s["project"]["id"])]
    assert via_group["user"] == {"id": user["id"]}
    assert via_group["links"] == {
        "assignment": f"{BASE}/projects/{s['project']['id']}/groups/{group['id']}/roles/{member}",
        "membership": f"{BASE}/groups/{group['id']}/users/{user['id']}",
    }
    implied = by_key[(reader, s["project"]["id"])]
    assert (
        implied["links"]["assignment"]
        == f"{BASE}/projects/{s['project']['id']}/groups/{group['id']}/roles/{member}"
    )
    assert implied["links"]["prior_role"] == f"{BASE}/prior_role/{reader}/implies/{member}"
    inherited = by_key[(admin, s["child"]["id"])]
    assert inherited["scope"] == {
        "project": {"id": s["child"]["id"]},
        "OS-INHERIT:inherited_to": "projects",
    }
    inherit_path = f"{BASE}/OS-INHERIT/projects/{s['parent']['id']}"
    assert inherited["links"] == {
        "assignment": f"{inherit_path}/users/{user['id']}/roles/{admin}/inherited_to_projects"
    }
    # Scope filters in effective mode.
    rows = cloud.ok(
        "GET",
        f"/v3/role_assignments?effective&user.id={user['id']}&scope.project.id={s['child']['id']}",
    )["role_assignments"]
    assert {r["role"]["id"] for r in rows} == {admin, manager, member, reader}
    rows = cloud.ok("GET", f"/v3/role_assignments?effective&scope.project.id={s['project']['id']}")
    assert {(r["user"]["id"], r["role"]["id"]) for r in rows["role_assignments"]} == {
        (user["id"], member),
        (user["id"], reader),
    }


def test_role_assignments_include_names(cloud: Cloud) -> None:
    s = _scenario(cloud)
    user, domain = s["user"], s["domain"]
    rows = cloud.ok("GET", f"/v3/role_assignments?user.id={user['id']}&effective&include_names")[
        "role_assignments"
    ]
    row = next(r for r in rows if "domain" in r["scope"])
    assert row["scope"]["domain"] == {"id": domain["id"], "name": domain["name"]}
    assert row["user"] == {
        "id": user["id"],
        "name": user["name"],
        "domain": {"id": "default", "name": "Default"},
    }
    assert row["role"] == {"id": cloud.role_id("reader"), "name": "reader"}
    row = next(r for r in rows if r["scope"].get("project", {}).get("id") == s["child"]["id"])
    assert row["scope"]["project"] == {
        "id": s["child"]["id"],
        "name": s["child"]["name"],
        "domain": {"id": domain["id"], "name": domain["name"]},
    }
    rows = cloud.ok("GET", f"/v3/role_assignments?group.id={s['group']['id']}&include_names")
    assert rows["role_assignments"][0]["group"] == {
        "id": s["group"]["id"],
        "name": s["group"]["name"],
        "domain": {"id": "default", "name": "Default"},
    }


def test_role_assignments_include_subtree(cloud: Cloud) -> None:
    s = _scenario(cloud)
    other = cloud.user()
    cloud.grant("member", user=other["id"], project=s["child"]["id"])
    cloud.grant("reader", user=other["id"], project=s["parent"]["id"])
    rows = cloud.ok(
        "GET", f"/v3/role_assignments?scope.project.id={s['parent']['id']}&include_subtree"
    )["role_assignments"]
    got = {(r["user"]["id"], r["scope"]["project"]["id"], r["role"]["id"]) for r in rows}
    assert got == {
        (other["id"], s["child"]["id"], cloud.role_id("member")),
        (other["id"], s["parent"]["id"], cloud.role_id("reader")),
        (s["user"]["id"], s["parent"]["id"], cloud.role_id("admin")),
    }
    assert_error(cloud.get("/v3/role_assignments?include_subtree"), 400)
    assert_error(cloud.get("/v3/role_assignments?include_subtree&scope.project.id=nope"), 404)


def test_role_assignment_bad_filter_combinations(cloud: Cloud) -> None:
    for query in (
        "effective&group.id=x",
        "scope.project.id=x&scope.domain.id=y",
        "user.id=x&group.id=y",
        "scope.system=all&scope.domain.id=y",
        "effective&scope.OS-INHERIT:inherited_to=projects&scope.domain.id=x",
    ):
        assert_error(cloud.get("/v3/role_assignments?" + query), 400)


def test_role_options_validated(cloud: Cloud) -> None:
    role = cloud.role()
    path = f"/v3/roles/{role['id']}"
    assert cloud.ok("PATCH", path, json={"role": {"options": None}})["role"]["options"] == {}
    assert_error(cloud.patch(path, json={"role": {"options": {"bogus": True}}}), 400)
    assert_error(cloud.patch(path, json={"role": {"options": {"immutable": "yes"}}}), 400)
    assert_error(
        cloud.post("/v3/roles", json={"role": {"name": unique(), "options": {"x": 1}}}), 400
    )


def test_renaming_a_role_revokes_tokens_carrying_it(cloud: Cloud) -> None:
    role = cloud.role()
    project, user, _ = cloud.member()
    other = cloud.project()
    cloud.grant("member", user=user["id"], project=other["id"])
    cloud.grant(role["id"], user=user["id"], project=project["id"])
    with_role = cloud.project_token(user["id"], project["id"])
    without = cloud.project_token(user["id"], other["id"])
    cloud.ok("PATCH", f"/v3/roles/{role['id']}", json={"role": {"name": unique("renamed")}})
    assert not cloud.alive(with_role)
    assert cloud.alive(without)
    # Changing only the description does not.
    fresh = cloud.project_token(user["id"], project["id"])
    cloud.ok("PATCH", f"/v3/roles/{role['id']}", json={"role": {"description": "x"}})
    assert cloud.alive(fresh)
