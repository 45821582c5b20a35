"""Domain-specific configuration and the LDAP identity backend against a real slapd."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.identity.conftest import Cloud, assert_error, password_auth, unique
from tests.identity.slapd import SUFFIX, Slapd, domain_config, needs_slapd, seed
from tinystack.identity.services.directory import public_id

CUSTOM = {
    "identity": {"driver": "ldap"},
    "ldap": {"url": "ldap://myldap.com:389/", "user_tree_dn": "ou=Users,dc=my_new_root,dc=org"},
}


def test_default_config(cloud: Cloud) -> None:
    config = cloud.ok("GET", "/v3/domains/config/default")["config"]
    assert config["identity"] == {"driver": "sql", "list_limit": None}
    assert config["ldap"]["user_objectclass"] == "inetOrgPerson"
    assert "password" not in config["ldap"]
    assert cloud.ok("GET", "/v3/domains/config/ldap/default")["config"].keys() == {"ldap"}
    assert cloud.ok("GET", "/v3/domains/config/ldap/url/default")["config"] == {
        "url": "ldap://localhost"
    }
    assert_error(cloud.get("/v3/domains/config/ldap/password/default"), 403)
    assert_error(cloud.get("/v3/domains/config/assignment/default"), 403)
    assert cloud.head("/v3/domains/config/default").status_code == 200


def test_config_crud(cloud: Cloud) -> None:
    domain = cloud.domain()
    base = f"/v3/domains/{domain['id']}/config"
    assert_error(cloud.get(base), 404)
    created = cloud.call("PUT", base, json={"config": CUSTOM})
    assert created.status_code == 201, created.text
    assert created.json()["config"] == CUSTOM
    # A second PUT replaces the config and answers 200.
    again = cloud.call(
        "PUT", base, json={"config": {**CUSTOM, "ldap": {"password": "p", **CUSTOM["ldap"]}}}
    )
    assert again.status_code == 200 and again.json()["config"] == CUSTOM  # password never shown
    assert cloud.ok("GET", base + "/ldap")["config"] == {"ldap": CUSTOM["ldap"]}
    assert cloud.ok("GET", base + "/ldap/url")["config"] == {"url": CUSTOM["ldap"]["url"]}
    assert_error(cloud.get(base + "/ldap/password"), 404)
    updated = cloud.ok(
        "PATCH", base + "/identity", json={"config": {"identity": {"list_limit": 5}}}
    )
    assert updated["config"]["identity"] == {"driver": "ldap", "list_limit": 5}
    updated = cloud.ok("PATCH", base + "/identity/driver", json={"config": {"driver": "sql"}})
    assert updated["config"]["identity"]["driver"] == "sql"
    # Updating a group or option that is not set: 404; naming another group: 403.
    cloud.ok("DELETE", base + "/identity/list_limit", status=204)
    assert_error(
        cloud.patch(base + "/identity/list_limit", json={"config": {"list_limit": 1}}), 404
    )
    assert_error(cloud.patch(base + "/identity", json={"config": {"ldap": {"url": "x"}}}), 403)
    assert_error(cloud.call("PUT", base, json={"config": {"assignment": {"driver": "x"}}}), 403)
    assert_error(cloud.call("PUT", base, json={"config": {"ldap": {"nonsense": 1}}}), 403)
    assert_error(cloud.call("PUT", base, json={"config": {}}), 403)
    assert_error(cloud.call("PUT", base, json={"config": {"ldap": "x"}}), 403)
    cloud.ok("DELETE", base + "/identity", status=204)
    assert_error(cloud.get(base + "/identity"), 404)
    assert_error(cloud.delete(base + "/identity"), 404)
    cloud.ok("DELETE", base, status=204)
    assert_error(cloud.get(base), 404)
    assert_error(cloud.get("/v3/domains/nope/config"), 404)
    # A domain's config goes with the domain.
    cloud.ok("PUT", base, json={"config": CUSTOM}, status=201)
    cloud.ok("PATCH", f"/v3/domains/{domain['id']}", json={"domain": {"enabled": False}})
    cloud.ok("DELETE", f"/v3/domains/{domain['id']}", status=204)


def test_config_needs_admin(cloud: Cloud) -> None:
    domain = cloud.domain()
    _project, _user, token = cloud.member()
    assert_error(
        cloud.call(
            "PUT", f"/v3/domains/{domain['id']}/config", token=token, json={"config": CUSTOM}
        ),
        403,
    )
    assert_error(cloud.get("/v3/domains/config/default", token=token), 403)


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    if not Path("/usr/sbin/slapd").exists():
        pytest.skip("slapd is not installed")
    server = Slapd(tmp_path_factory.mktemp("slapd"))
    server.start()
    try:
        seed(server)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def ldap_domain(cloud: Cloud, slapd: Slapd) -> dict[str, str]:
    domain = cloud.domain(unique("ldapdom"))
    cloud.ok(
        "PUT",
        f"/v3/domains/{domain['id']}/config",
        json={"config": domain_config(slapd.url)},
        status=201,
    )
    return domain


@needs_slapd
def test_ldap_users_and_groups(cloud: Cloud, ldap_domain: dict[str, str], slapd: Slapd) -> None:
    did = ldap_domain["id"]
    users = cloud.ok("GET", f"/v3/users?domain_id={did}")["users"]
    assert [u["name"] for u in users] == ["alice", "bob", "carol"]
    alice = users[0]
    assert alice["id"] == public_id(did, "alice", "user")
    assert alice["email"] == "alice@example.org" and alice["domain_id"] == did
    assert alice["enabled"] is True and users[1]["enabled"] is False
    assert cloud.ok("GET", f"/v3/users?domain_id={did}&name=carol")["users"][0]["name"] == "carol"
    assert cloud.ok("GET", f"/v3/users?domain_id={did}&enabled=false")["users"][0]["name"] == "bob"
    assert cloud.ok("GET", f"/v3/users/{alice['id']}")["user"]["name"] == "alice"
    # Directory users stay out of the listing of identity's own users.
    assert alice["id"] not in {u["id"] for u in cloud.ok("GET", "/v3/users")["users"]}
    groups = cloud.ok("GET", f"/v3/groups?domain_id={did}")["groups"]
    assert [g["name"] for g in groups] == ["devs", "ops"]
    devs = groups[0]
    assert devs["id"] == public_id(did, "devs", "group") and devs["description"] == "the devs"
    members = cloud.ok("GET", f"/v3/groups/{devs['id']}/users")["users"]
    assert [m["name"] for m in members] == ["alice", "carol"]
    assert [g["name"] for g in cloud.ok("GET", f"/v3/users/{alice['id']}/groups")["groups"]] == [
        "devs"
    ]
    assert cloud.head(f"/v3/groups/{devs['id']}/users/{alice['id']}").status_code == 204
    assert_error(cloud.get(f"/v3/groups/{devs['id']}/users/{users[1]['id']}"), 404)
    # Read-only: writes are refused with upstream's 403.
    assert_error(cloud.post("/v3/users", json={"user": {"name": "x", "domain_id": did}}), 403)
    assert_error(cloud.patch(f"/v3/users/{alice['id']}", json={"user": {"description": "x"}}), 403)
    assert_error(cloud.delete(f"/v3/users/{alice['id']}"), 403)
    assert_error(cloud.post("/v3/groups", json={"group": {"name": "x", "domain_id": did}}), 403)
    assert_error(cloud.delete(f"/v3/groups/{devs['id']}"), 403)
    assert_error(cloud.put(f"/v3/groups/{devs['id']}/users/{users[1]['id']}"), 403)
    # An entry that left the directory is gone.
    slapd.add(f"uid=dave,ou=Users,{SUFFIX}", "inetOrgPerson", uid="dave", cn="Dave", sn="Dave")
    dave = cloud.ok("GET", f"/v3/users?domain_id={did}&name=dave")["users"][0]
    slapd.delete(f"uid=dave,ou=Users,{SUFFIX}")
    assert_error(cloud.get(f"/v3/users/{dave['id']}"), 404)


@needs_slapd
def test_ldap_user_authenticates_with_roles_in_sql(
    cloud: Cloud, ldap_domain: dict[str, str]
) -> None:
    did = ldap_domain["id"]
    project = cloud.project()
    users = {u["name"]: u for u in cloud.ok("GET", f"/v3/users?domain_id={did}")["users"]}
    devs = cloud.ok("GET", f"/v3/groups?domain_id={did}&name=devs")["groups"][0]
    # alice gets member through her directory group, carol directly.
    cloud.grant("member", group=devs["id"], project=project["id"])
    custom = cloud.role()
    cloud.grant(custom["id"], user=users["carol"]["id"], project=project["id"])
    scope = {"project": {"id": project["id"]}}
    by_name = password_auth(
        name="alice", domain={"name": ldap_domain["name"]}, password="alice-pw", scope=scope
    )
    _token, body = cloud.issue(by_name)
    assert body["user"]["id"] == users["alice"]["id"]
    assert body["user"]["domain"] == {"id": did, "name": ldap_domain["name"]}
    assert {r["name"] for r in body["roles"]} == {"member", "reader"}
    _token, body = cloud.issue(
        password_auth(user_id=users["carol"]["id"], password="carol-pw", scope=scope)
    )
    assert {r["name"] for r in body["roles"]} == {"member", "reader", custom["name"]}
    cloud.issue(password_auth(user_id=users["alice"]["id"], password="wrong"), status=401)
    cloud.issue(password_auth(user_id=users["alice"]["id"], password=""), status=401)
    # bob is disabled in the directory.
    cloud.issue(password_auth(user_id=users["bob"]["id"], password="bob-pw"), status=401)
    cloud.issue(password_auth(name="nobody", domain={"id": did}, password="x"), status=401)
    # Role assignments name directory users.
    listed = cloud.ok("GET", f"/v3/role_assignments?scope.project.id={project['id']}")
    actors = {a.get("user", a.get("group", {})).get("id") for a in listed["role_assignments"]}
    assert {devs["id"], users["carol"]["id"]} <= actors


@needs_slapd
def test_unreachable_directory_is_503(cloud: Cloud) -> None:
    domain = cloud.domain()
    config = domain_config("ldap://127.0.0.1:1")
    cloud.ok("PUT", f"/v3/domains/{domain['id']}/config", json={"config": config}, status=201)
    assert_error(cloud.get(f"/v3/users?domain_id={domain['id']}"), 503)


@needs_slapd
def test_ldap_member_ids_filters_and_emulation(cloud: Cloud, slapd: Slapd) -> None:
    """posixGroup members by uid (group_members_are_ids), a user filter, a subtree scope
    and enabled emulation (members of the enabled_users group are enabled)."""
    slapd.add(f"ou=Posix,{SUFFIX}", "organizationalUnit", ou="Posix")
    slapd.add(
        f"cn=admins,ou=Posix,{SUFFIX}",
        "posixGroup",
        cn="admins",
        gidNumber=500,
        memberUid=["alice", "carol"],
    )
    slapd.add(
        f"cn=enabled_users,ou=Users,{SUFFIX}",
        "groupOfNames",
        cn="enabled_users",
        member=[f"uid=carol,ou=Users,{SUFFIX}"],
    )
    config = domain_config(slapd.url)
    config["ldap"].update(
        {
            "group_tree_dn": f"ou=Posix,{SUFFIX}",
            "group_objectclass": "posixGroup",
            "group_member_attribute": "memberUid",
            "group_members_are_ids": True,
            "user_filter": "(|(uid=alice)(uid=carol))",
            "query_scope": "sub",
            "user_enabled_emulation": True,
            "page_size": 0,
        }
    )
    domain = cloud.domain(unique("posix"))
    cloud.ok("PUT", f"/v3/domains/{domain['id']}/config", json={"config": config}, status=201)
    users = cloud.ok("GET", f"/v3/users?domain_id={domain['id']}")["users"]
    assert [(u["name"], u["enabled"]) for u in users] == [("alice", False), ("carol", True)]
    admins = cloud.ok("GET", f"/v3/groups?domain_id={domain['id']}")["groups"]
    assert [g["name"] for g in admins] == ["admins"]
    members = cloud.ok("GET", f"/v3/groups/{admins[0]['id']}/users")["users"]
    assert [m["name"] for m in members] == ["alice", "carol"]
    carol = users[1]
    groups = cloud.ok("GET", f"/v3/users/{carol['id']}/groups")["groups"]
    assert [g["name"] for g in groups] == ["admins"]
    # The same entry in another domain has another public id.
    assert carol["id"] == public_id(domain["id"], "carol", "user")
    # A user the filter leaves out cannot authenticate; a disabled one neither.
    by_name = {"name": domain["name"]}
    cloud.issue(password_auth(name="bob", domain=by_name, password="bob-pw"), status=401)
    cloud.issue(password_auth(name="alice", domain=by_name, password="alice-pw"), status=401)
    cloud.issue(password_auth(name="carol", domain=by_name, password="carol-pw"))
