"""Regions, services, endpoints; application credentials; revocation events."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.identity.conftest import Cloud, assert_error, unique

BASE = "http://testserver/v3"


def test_regions(cloud: Cloud) -> None:
    created = cloud.ok(
        "POST", "/v3/regions", status=201, json={"region": {"description": "auto id"}}
    )
    region = created["region"]
    assert (
        region["id"] and region["description"] == "auto id" and region["parent_region_id"] is None
    )
    assert region["links"]["self"] == f"{BASE}/regions/{region['id']}"
    parent = unique("Parent")
    cloud.ok("PUT", f"/v3/regions/{parent}", status=201, json={"region": {}})
    child = cloud.ok(
        "POST",
        "/v3/regions",
        status=201,
        json={"region": {"id": unique("Child"), "parent_region_id": parent}},
    )["region"]
    assert child["parent_region_id"] == parent
    assert_error(cloud.put(f"/v3/regions/{parent}", json={"region": {}}), 409)
    assert_error(cloud.post("/v3/regions", json={"region": {"id": parent}}), 409)
    assert_error(cloud.post("/v3/regions", json={"region": {"parent_region_id": "nope"}}), 404)
    assert_error(cloud.put(f"/v3/regions/{unique()}", json={"region": {"id": "different"}}), 400)
    children = cloud.ok("GET", f"/v3/regions?parent_region_id={parent}")["regions"]
    assert [r["id"] for r in children] == [child["id"]]
    assert cloud.ok("GET", f"/v3/regions/{child['id']}")["region"] == child
    # No loops.
    assert_error(
        cloud.patch(f"/v3/regions/{parent}", json={"region": {"parent_region_id": child["id"]}}),
        400,
    )
    assert_error(
        cloud.patch(f"/v3/regions/{parent}", json={"region": {"parent_region_id": parent}}), 400
    )
    updated = cloud.ok("PATCH", f"/v3/regions/{child['id']}", json={"region": {"description": "x"}})
    assert updated["region"]["description"] == "x"
    # Deleting a region deletes its children.
    cloud.ok("DELETE", f"/v3/regions/{parent}", status=204)
    assert_error(cloud.get(f"/v3/regions/{child['id']}"), 404)
    assert_error(cloud.delete(f"/v3/regions/{parent}"), 404)


def test_services_and_endpoints(cloud: Cloud) -> None:
    service = cloud.ok(
        "POST",
        "/v3/services",
        status=201,
        json={"service": {"type": "compute", "name": "nova", "description": "d"}},
    )["service"]
    assert service["type"] == "compute" and service["name"] == "nova" and service["enabled"] is True
    assert service["links"]["self"] == f"{BASE}/services/{service['id']}"
    assert service["id"] in {
        s["id"] for s in cloud.ok("GET", "/v3/services?type=compute")["services"]
    }
    assert cloud.ok("GET", f"/v3/services/{service['id']}")["service"] == service
    endpoint = cloud.ok(
        "POST",
        "/v3/endpoints",
        status=201,
        json={
            "endpoint": {
                "service_id": service["id"],
                "interface": "public",
                "url": "http://c/v2.1",
                "region_id": "RegionOne",
            }
        },
    )["endpoint"]
    assert endpoint["region_id"] == "RegionOne" and endpoint["region"] == "RegionOne"
    assert (
        endpoint["enabled"] is True
        and endpoint["links"]["self"] == f"{BASE}/endpoints/{endpoint['id']}"
    )
    legacy = cloud.ok(
        "POST",
        "/v3/endpoints",
        status=201,
        json={
            "endpoint": {
                "service_id": service["id"],
                "interface": "internal",
                "url": "http://c",
                "region": "RegionOne",
            }
        },
    )["endpoint"]
    assert legacy["region_id"] == "RegionOne"
    listed = cloud.ok("GET", f"/v3/endpoints?service_id={service['id']}&interface=public")[
        "endpoints"
    ]
    assert [e["id"] for e in listed] == [endpoint["id"]]
    # The catalog in tokens shows the new service.
    _, token = cloud.login(
        cloud.ids["admin_user"], "admin-secret", {"project": {"id": cloud.ids["admin_project"]}}
    )
    entry = next(s for s in token["catalog"] if s["id"] == service["id"])
    assert entry["type"] == "compute" and entry["name"] == "nova"
    assert {e["interface"] for e in entry["endpoints"]} == {"public", "internal"}
    # Disabled endpoints and services leave the catalog.
    cloud.ok("PATCH", f"/v3/endpoints/{legacy['id']}", json={"endpoint": {"enabled": False}})
    catalog = cloud.ok("GET", "/v3/auth/catalog")["catalog"]
    entry = next(s for s in catalog if s["id"] == service["id"])
    assert [e["id"] for e in entry["endpoints"]] == [endpoint["id"]]
    cloud.ok("PATCH", f"/v3/services/{service['id']}", json={"service": {"enabled": False}})
    assert service["id"] not in {s["id"] for s in cloud.ok("GET", "/v3/auth/catalog")["catalog"]}
    # A region in use by endpoints cannot go.
    cloud.ok("PUT", "/v3/regions/EndpointRegion", status=201, json={"region": {}})
    cloud.ok(
        "PATCH",
        f"/v3/endpoints/{endpoint['id']}",
        json={"endpoint": {"region_id": "EndpointRegion"}},
    )
    assert_error(cloud.delete("/v3/regions/EndpointRegion"), 409)
    # Bad references.
    bad = {"service_id": "nope", "interface": "public", "url": "http://x"}
    assert_error(cloud.post("/v3/endpoints", json={"endpoint": bad}), 400)
    bad = {
        "service_id": service["id"],
        "interface": "public",
        "url": "http://x",
        "region_id": "nope",
    }
    assert_error(cloud.post("/v3/endpoints", json={"endpoint": bad}), 400)
    bad = {"service_id": service["id"], "interface": "sideways", "url": "http://x"}
    assert_error(cloud.post("/v3/endpoints", json={"endpoint": bad}), 400)
    # Deleting the service deletes its endpoints.
    cloud.ok("DELETE", f"/v3/services/{service['id']}", status=204)
    assert_error(cloud.get(f"/v3/endpoints/{endpoint['id']}"), 404)
    assert_error(cloud.get(f"/v3/services/{service['id']}"), 404)
    cloud.ok("DELETE", "/v3/regions/EndpointRegion", status=204)


def _app_cred_auth(**ref: Any) -> dict[str, Any]:
    return {
        "auth": {"identity": {"methods": ["application_credential"], "application_credential": ref}}
    }


def test_application_credentials(cloud: Cloud) -> None:
    project, user, token = cloud.member()
    extra = cloud.role()
    cloud.grant(extra["id"], user=user["id"], project=project["id"])
    token = cloud.project_token(user["id"], project["id"])
    path = f"/v3/users/{user['id']}/application_credentials"
    expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%f")
    created = cloud.ok(
        "POST",
        path,
        token=token,
        status=201,
        json={
            "application_credential": {
                "name": "ci",
                "description": "for CI",
                "roles": [{"name": "reader"}],
                "expires_at": expires,
            }
        },
    )["application_credential"]
    secret = created["secret"]
    assert secret and created["name"] == "ci" and created["description"] == "for CI"
    assert created["project_id"] == project["id"] and created["user_id"] == user["id"]
    assert created["unrestricted"] is False
    assert [r["name"] for r in created["roles"]] == ["reader"]
    assert created["expires_at"].startswith(expires[:19])
    assert created["links"]["self"] == f"http://testserver{path}/{created['id']}"
    shown = cloud.ok("GET", f"{path}/{created['id']}", token=token)["application_credential"]
    assert "secret" not in shown and shown["id"] == created["id"]
    listed = cloud.ok("GET", path, token=token)["application_credentials"]
    assert [c["id"] for c in listed] == [created["id"]] and "secret" not in listed[0]
    assert [
        c["id"] for c in cloud.ok("GET", f"{path}?name=ci", token=token)["application_credentials"]
    ] == [created["id"]]
    # Authenticate by id, and by name + user (id or name + domain).
    for ref in (
        {"id": created["id"], "secret": secret},
        {"name": "ci", "user": {"id": user["id"]}, "secret": secret},
        {
            "name": "ci",
            "user": {"name": user["name"], "domain": {"id": "default"}},
            "secret": secret,
        },
    ):
        subject, body = cloud.issue(_app_cred_auth(**ref))
        assert body["methods"] == ["application_credential"]
        assert body["project"]["id"] == project["id"]
        assert [r["name"] for r in body["roles"]] == ["reader"]  # restricted to the chosen roles
        assert body["application_credential"] == {
            "id": created["id"],
            "name": "ci",
            "restricted": True,
        }
        assert body["expires_at"].rstrip("Z") <= created["expires_at"].rstrip("Z")
    assert_error(
        cloud.client.post("/v3/auth/tokens", json=_app_cred_auth(id=created["id"], secret="bad")),
        401,
    )
    # A restricted application credential cannot make or delete application credentials.
    body = {"application_credential": {"name": "child"}}
    assert_error(cloud.post(path, token=subject, json=body), 403)
    assert_error(cloud.delete(f"{path}/{created['id']}", token=subject), 403)
    # Nor can its token be rescoped.
    rescope = {
        "auth": {
            "identity": {"methods": ["token"], "token": {"id": subject}},
            "scope": {"project": {"id": cloud.ids["demo_project"]}},
        }
    }
    assert_error(cloud.client.post("/v3/auth/tokens", json=rescope), 403)
    # Duplicate names conflict; roles the user lacks are refused; the past is refused.
    assert_error(
        cloud.post(path, token=token, json={"application_credential": {"name": "ci"}}), 409
    )
    body = {"application_credential": {"name": unique(), "roles": [{"name": "admin"}]}}
    assert_error(cloud.post(path, token=token, json=body), 404)
    body = {"application_credential": {"name": unique(), "expires_at": "2000-01-01T00:00:00"}}
    assert_error(cloud.post(path, token=token, json=body), 400)
    # Someone else's credentials are not visible to the user; admin sees them.
    other_project, other, other_token = cloud.member()
    assert_error(cloud.get(path, token=other_token), 403)
    assert cloud.ok("GET", path)["application_credentials"]
    cloud.ok("DELETE", f"{path}/{created['id']}", token=token, status=204)
    assert_error(cloud.get(f"{path}/{created['id']}", token=token), 404)
    assert_error(
        cloud.client.post("/v3/auth/tokens", json=_app_cred_auth(id=created["id"], secret=secret)),
        401,
    )


def test_unrestricted_application_credential_and_default_roles(cloud: Cloud) -> None:
    project, user, token = cloud.member()
    path = f"/v3/users/{user['id']}/application_credentials"
    cred = cloud.ok(
        "POST",
        path,
        token=token,
        status=201,
        json={
            "application_credential": {"name": "root", "unrestricted": True, "secret": "my-secret"}
        },
    )["application_credential"]
    assert cred["secret"] == "my-secret" and cred["unrestricted"] is True
    assert {r["name"] for r in cred["roles"]} == {"member", "reader"}
    subject, body = cloud.issue(_app_cred_auth(id=cred["id"], secret="my-secret"))
    assert body["application_credential"]["restricted"] is False
    child = cloud.ok(
        "POST", path, token=subject, status=201, json={"application_credential": {"name": "child"}}
    )
    assert child["application_credential"]["project_id"] == project["id"]


def test_application_credential_needs_project_scope_and_own_user(cloud: Cloud) -> None:
    project, user, token = cloud.member()
    unscoped, _ = cloud.login(user["id"])
    path = f"/v3/users/{user['id']}/application_credentials"
    body = {"application_credential": {"name": unique()}}
    response = cloud.post(path, token=unscoped, json=body)
    assert response.status_code in (400, 403), response.text
    assert_error(
        cloud.post(
            f"/v3/users/{cloud.ids['demo_user']}/application_credentials", token=token, json=body
        ),
        403,
    )


def test_expired_application_credential(cloud: Cloud) -> None:
    project, user, token = cloud.member()
    path = f"/v3/users/{user['id']}/application_credentials"
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    cred = cloud.ok(
        "POST",
        path,
        token=token,
        status=201,
        json={"application_credential": {"name": "short", "expires_at": soon}},
    )["application_credential"]
    time.sleep(1.1)
    assert_error(
        cloud.client.post(
            "/v3/auth/tokens", json=_app_cred_auth(id=cred["id"], secret=cred["secret"])
        ),
        401,
    )


def test_revocation_events(cloud: Cloud) -> None:
    project, user, token = cloud.member()
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    time.sleep(0.01)
    cloud.ok("DELETE", "/v3/auth/tokens", status=204, headers={"X-Subject-Token": token})
    cloud.ok("PATCH", f"/v3/users/{user['id']}", json={"user": {"enabled": False}})
    events = cloud.ok("GET", f"/v3/OS-REVOKE/events?since={since}")["events"]
    assert len(events) == 2
    assert set(events[0]) == {"issued_before", "revoked_at", "audit_id"}
    assert events[1]["user_id"] == user["id"]
    for event in events:
        assert event["issued_before"].endswith("Z")
    assert len(cloud.ok("GET", "/v3/OS-REVOKE/events")["events"]) >= 2
    assert_error(cloud.get("/v3/OS-REVOKE/events?since=yesterday"), 400)
    # Not for ordinary users.
    _, _, member = cloud.member()
    assert_error(cloud.get("/v3/OS-REVOKE/events", token=member), 403)
