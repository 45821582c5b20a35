"""The core identity flows on MariaDB and PostgreSQL (one fresh database per engine)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from tests.databases import BACKENDS, database
from tests.identity.conftest import Cloud, assert_error, build_cloud, restart, unique
from tests.identity.test_bad_input import random_bodies
from tests.identity.test_bad_input import test_random_query_strings_never_500 as random_queries


@pytest.fixture(scope="module", params=BACKENDS)
def db_cloud(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cloud]:
    kind: str = request.param
    with database(kind, "tinystack_identity") as url:
        cloud = build_cloud(tmp_path_factory.mktemp(kind), db_url=url)
        try:
            yield cloud
        finally:
            cloud.client.close()
            assert cloud.runtime.db is not None
            cloud.runtime.db.dispose()


def test_tokens(db_cloud: Cloud) -> None:
    cloud = db_cloud
    project, user, token = cloud.member()
    body = cloud.ok("GET", "/v3/auth/tokens", headers={"X-Subject-Token": token})["token"]
    assert body["project"]["id"] == project["id"] and body["user"]["id"] == user["id"]
    assert {r["name"] for r in body["roles"]} == {"member", "reader"}
    unscoped, _ = cloud.login(user["id"])
    cloud.ok("DELETE", "/v3/auth/tokens", status=204, headers={"X-Subject-Token": token})
    assert not cloud.alive(token) and cloud.alive(unscoped)
    cloud.ok("PATCH", f"/v3/users/{user['id']}", json={"user": {"enabled": False}})
    assert not cloud.alive(unscoped)


def test_revocations_survive_a_restart_exactly(db_cloud: Cloud) -> None:
    cloud = db_cloud
    project, user, old = cloud.member()
    before = time.time()
    cloud.ok("PATCH", f"/v3/users/{user['id']}", json={"user": {"password": "changed"}})
    events = cloud.ok("GET", "/v3/OS-REVOKE/events")["events"]
    stamp = datetime.strptime(events[-1]["issued_before"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert abs(stamp.replace(tzinfo=UTC).timestamp() - before) < 2
    new = cloud.project_token(user["id"], project["id"], password="changed")
    again = restart(cloud)
    try:
        assert not again.alive(old)
        assert again.alive(new)
    finally:
        again.client.close()
        assert again.runtime.db is not None
        again.runtime.db.dispose()


def test_project_and_user_crud(db_cloud: Cloud) -> None:
    cloud = db_cloud
    parent = cloud.project(tags=["a", "b"], colour="red")
    child = cloud.project(parent_id=parent["id"])
    assert cloud.ok("GET", f"/v3/projects/{child['id']}")["project"]["parent_id"] == parent["id"]
    assert {p["id"] for p in cloud.ok("GET", "/v3/projects?tags=a,b")["projects"]} == {parent["id"]}
    assert_error(cloud.post("/v3/projects", json={"project": {"name": parent["name"]}}), 409)
    user = cloud.user(email="x@example.com", options={"lock_password": True})
    shown = cloud.ok("GET", f"/v3/users/{user['id']}")["user"]
    assert shown["email"] == "x@example.com" and shown["options"] == {"lock_password": True}
    assert_error(cloud.post("/v3/users", json={"user": {"name": user["name"]}}), 409)
    cloud.ok("PATCH", f"/v3/users/{user['id']}", json={"user": {"name": unique()}})
    cloud.ok("DELETE", f"/v3/users/{user['id']}", status=204)
    assert_error(cloud.delete(f"/v3/projects/{parent['id']}"), 403)
    cloud.ok("DELETE", f"/v3/projects/{child['id']}", status=204)
    cloud.ok("DELETE", f"/v3/projects/{parent['id']}", status=204)


def test_grants_and_effective_assignments(db_cloud: Cloud) -> None:
    cloud = db_cloud
    domain = cloud.domain()
    parent = cloud.project(domain_id=domain["id"])
    child = cloud.project(parent_id=parent["id"])
    user, group = cloud.user(), cloud.group()
    cloud.ok("PUT", f"/v3/groups/{group['id']}/users/{user['id']}", status=204)
    cloud.grant("member", group=group["id"], project=parent["id"], inherited=True)
    rows = cloud.ok("GET", f"/v3/role_assignments?user.id={user['id']}&effective&include_names")
    got = {(r["scope"]["project"]["name"], r["role"]["name"]) for r in rows["role_assignments"]}
    assert got == {(child["name"], "member"), (child["name"], "reader")}
    token = cloud.project_token(user["id"], child["id"])
    cloud.ok("DELETE", f"/v3/groups/{group['id']}/users/{user['id']}", status=204)
    assert not cloud.alive(token)


def test_domain_cascade(db_cloud: Cloud) -> None:
    cloud = db_cloud
    domain = cloud.domain()
    top = cloud.project(domain_id=domain["id"], tags=["t"])
    mid = cloud.project(parent_id=top["id"])
    cloud.project(parent_id=mid["id"])
    user = cloud.user(domain_id=domain["id"])
    group = cloud.group(domain_id=domain["id"])
    cloud.ok("PUT", f"/v3/groups/{group['id']}/users/{user['id']}", status=204)
    cloud.grant("member", user=user["id"], project=mid["id"])
    cloud.role(domain_id=domain["id"])
    cloud.ok("PATCH", f"/v3/domains/{domain['id']}", json={"domain": {"enabled": False}})
    cloud.ok("DELETE", f"/v3/domains/{domain['id']}", status=204)
    assert_error(cloud.get(f"/v3/projects/{mid['id']}"), 404)


def test_oversized_and_nul_values_are_400(db_cloud: Cloud) -> None:
    cloud = db_cloud
    for path, body in (
        ("/v3/domains", {"domain": {"name": unique(), "explicit_domain_id": "d" * 300}}),
        ("/v3/services", {"service": {"type": "t", "name": "n" * 300}}),
        ("/v3/users", {"user": {"name": unique(), "default_project_id": "p" * 300}}),
        ("/v3/projects", {"project": {"name": "nul\x00name"}}),
        ("/v3/users", {"user": {"name": unique(), "description": "nul\x00"}}),
    ):
        assert_error(cloud.post(path, json=body), 400)
    # NUL in a query or path parameter is refused too, never a 500.
    for path in ("/v3/projects?name=a%00b", "/v3/users/a%00b"):
        assert cloud.get(path).status_code in (200, 400, 404)


def test_random_bodies_and_queries(db_cloud: Cloud) -> None:
    random_bodies(db_cloud)
    random_queries(db_cloud)


def test_concurrent_writes(db_cloud: Cloud) -> None:
    cloud = db_cloud
    project = cloud.project()

    def work(i: int) -> int:
        user = cloud.user()
        response = cloud.put(
            cloud.grant_path(cloud.role_id("member"), user=user["id"], project=project["id"])
        )
        return response.status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(work, range(16))) == {204}
    rows = cloud.ok("GET", f"/v3/role_assignments?scope.project.id={project['id']}")
    assert len(rows["role_assignments"]) == 16


def test_delegation_and_credentials(db_cloud: Cloud) -> None:
    """Trusts, OAuth1, credentials and access rules on the engine (their own tables)."""
    from tests.identity import test_access_rules, test_credentials, test_oauth1, test_trusts

    test_trusts.test_create_show_list_roles_delete(db_cloud)
    test_trusts.test_trust_without_impersonation_and_limited_uses(db_cloud)
    test_oauth1.test_flow_and_oauth_scoped_token(db_cloud)
    test_credentials.test_crud_filters_and_encryption_at_rest(db_cloud)
    test_credentials.test_os_ec2_credentials(db_cloud)
    test_access_rules.test_rules_api(db_cloud)
