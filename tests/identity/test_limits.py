"""Unified limits: registered limits, project and domain limits, the enforcement model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.identity.conftest import Cloud, assert_error, build_cloud, unique
from tinystack.identity import conf as identity_conf


def _service(cloud: Cloud) -> str:
    body = {"service": {"type": unique("svc"), "name": unique("svc")}}
    service_id: str = cloud.ok("POST", "/v3/services", json=body, status=201)["service"]["id"]
    return service_id


def _registered(
    cloud: Cloud, service_id: str, name: str, default: int, **kw: Any
) -> dict[str, Any]:
    body = {
        "registered_limits": [
            {"service_id": service_id, "resource_name": name, "default_limit": default, **kw}
        ]
    }
    created: dict[str, Any] = cloud.ok("POST", "/v3/registered_limits", json=body, status=201)[
        "registered_limits"
    ][0]
    return created


def _limit(cloud: Cloud, status: int = 201, **fields: Any) -> Any:
    response = cloud.post("/v3/limits", json={"limits": [fields]})
    if status != 201:
        return assert_error(response, status)
    assert response.status_code == 201, response.text
    return response.json()["limits"][0]


def test_registered_limits_crud(cloud: Cloud) -> None:
    service = _service(cloud)
    reg = _registered(cloud, service, "servers", 10, region_id="RegionOne", description="d")
    assert reg["default_limit"] == 10 and reg["region_id"] == "RegionOne"
    assert reg["links"]["self"].endswith(f"/v3/registered_limits/{reg['id']}")
    assert cloud.ok("GET", f"/v3/registered_limits/{reg['id']}")["registered_limit"] == reg
    listed = cloud.ok("GET", f"/v3/registered_limits?service_id={service}")["registered_limits"]
    assert [r["id"] for r in listed] == [reg["id"]]
    assert cloud.ok("GET", "/v3/registered_limits?resource_name=nope")["registered_limits"] == []
    # Duplicates conflict; unknown services and regions are 400; bad values 400.
    dup = {
        "service_id": service,
        "resource_name": "servers",
        "default_limit": 1,
        "region_id": "RegionOne",
    }
    assert_error(cloud.post("/v3/registered_limits", json={"registered_limits": [dup]}), 409)
    for bad in (
        {**dup, "service_id": "nope"},
        {**dup, "region_id": "nope"},
        {**dup, "default_limit": -2},
        {**dup, "default_limit": "1"},
        {**dup, "extra": 1},
    ):
        assert_error(cloud.post("/v3/registered_limits", json={"registered_limits": [bad]}), 400)
    assert_error(cloud.post("/v3/registered_limits", json={"registered_limits": []}), 400)
    updated = cloud.ok(
        "PATCH",
        f"/v3/registered_limits/{reg['id']}",
        json={"registered_limit": {"default_limit": 5, "description": None}},
    )
    assert updated["registered_limit"]["default_limit"] == 5
    assert updated["registered_limit"]["description"] is None
    # No region is another registered limit.
    other = _registered(cloud, service, "servers", 3)
    assert_error(
        cloud.patch(
            f"/v3/registered_limits/{other['id']}",
            json={"registered_limit": {"region_id": "RegionOne"}},
        ),
        409,
    )
    cloud.ok("DELETE", f"/v3/registered_limits/{other['id']}", status=204)
    assert_error(cloud.get(f"/v3/registered_limits/{other['id']}"), 404)


def test_limits_crud_and_reference_rules(cloud: Cloud) -> None:
    service = _service(cloud)
    project = cloud.project()
    reg = _registered(cloud, service, "cores", 20)
    limit = _limit(
        cloud, project_id=project["id"], service_id=service, resource_name="cores", resource_limit=8
    )
    assert limit["project_id"] == project["id"] and limit["domain_id"] is None
    assert limit["resource_limit"] == 8 and limit["service_id"] == service
    assert cloud.ok("GET", f"/v3/limits/{limit['id']}")["limit"] == limit
    _limit(
        cloud,
        409,
        project_id=project["id"],
        service_id=service,
        resource_name="cores",
        resource_limit=1,
    )
    # Without a registered limit: 403, as upstream; both or neither target: 400.
    _limit(
        cloud,
        403,
        project_id=project["id"],
        service_id=service,
        resource_name="ram",
        resource_limit=1,
    )
    _limit(cloud, 400, service_id=service, resource_name="cores", resource_limit=1)
    _limit(
        cloud, 400, project_id="nope", service_id=service, resource_name="cores", resource_limit=1
    )
    # A registered limit in use can be neither updated nor deleted.
    assert_error(
        cloud.patch(
            f"/v3/registered_limits/{reg['id']}", json={"registered_limit": {"default_limit": 1}}
        ),
        403,
    )
    assert_error(cloud.delete(f"/v3/registered_limits/{reg['id']}"), 403)
    listed = cloud.ok("GET", f"/v3/limits?project_id={project['id']}")["limits"]
    assert [item["id"] for item in listed] == [limit["id"]]
    assert cloud.ok("GET", f"/v3/limits?service_id={service}&resource_name=cores")["limits"]
    updated = cloud.ok(
        "PATCH",
        f"/v3/limits/{limit['id']}",
        json={"limit": {"resource_limit": 9, "description": "more"}},
    )["limit"]
    assert updated["resource_limit"] == 9 and updated["description"] == "more"
    assert_error(cloud.patch(f"/v3/limits/{limit['id']}", json={"limit": {"service_id": "x"}}), 400)
    # A project member sees its project's limits only, and may read its own limit.
    member_project, _user, token = cloud.member()
    mine = _limit(
        cloud,
        project_id=member_project["id"],
        service_id=service,
        resource_name="cores",
        resource_limit=2,
    )
    seen = cloud.ok("GET", "/v3/limits", token=token)["limits"]
    assert [item["id"] for item in seen] == [mine["id"]]
    assert cloud.ok("GET", f"/v3/limits/{mine['id']}", token=token)["limit"]["id"] == mine["id"]
    assert_error(cloud.get(f"/v3/limits/{limit['id']}", token=token), 403)
    assert_error(
        cloud.post(
            "/v3/limits",
            token=token,
            json={
                "limits": [
                    {
                        "project_id": member_project["id"],
                        "service_id": service,
                        "resource_name": "cores",
                        "resource_limit": 100,
                    }
                ]
            },
        ),
        403,
    )
    # Deleting the project deletes its limits.
    cloud.ok("DELETE", f"/v3/projects/{project['id']}", status=204)
    assert_error(cloud.get(f"/v3/limits/{limit['id']}"), 404)
    cloud.ok("DELETE", f"/v3/limits/{mine['id']}", status=204)
    cloud.ok("DELETE", f"/v3/registered_limits/{reg['id']}", status=204)


def test_flat_model(cloud: Cloud) -> None:
    model = cloud.ok("GET", "/v3/limits/model")["model"]
    assert model["name"] == "flat" and "hierarchy" in model["description"]


@pytest.fixture
def strict_cloud(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    real = identity_conf.Options.from_conf

    def strict(conf: Any) -> identity_conf.Options:
        conf.set_override("enforcement_model", "strict_two_level", group="unified_limit")
        return real(conf)

    monkeypatch.setattr(identity_conf.Options, "from_conf", strict)
    built = build_cloud(tmp_path)
    try:
        yield built
    finally:
        built.client.close()
        assert built.runtime.db is not None
        built.runtime.db.dispose()


def test_strict_two_level(strict_cloud: Cloud) -> None:
    cloud = strict_cloud
    assert cloud.ok("GET", "/v3/limits/model")["model"]["name"] == "strict_two_level"
    service = _service(cloud)
    _registered(cloud, service, "servers", 10)
    domain = cloud.domain()
    project = cloud.project(domain_id=domain["id"])
    # Above the registered default with no domain limit: refused.
    error = _limit(
        cloud,
        403,
        project_id=project["id"],
        service_id=service,
        resource_name="servers",
        resource_limit=11,
    )
    assert "doesn't satisfy current hierarchy model" in error["message"]
    _limit(
        cloud,
        project_id=project["id"],
        service_id=service,
        resource_name="servers",
        resource_limit=10,
    )
    # A domain limit below a project limit in it: refused; at or above: accepted.
    _limit(
        cloud,
        403,
        domain_id=domain["id"],
        service_id=service,
        resource_name="servers",
        resource_limit=5,
    )
    dom_limit = _limit(
        cloud,
        domain_id=domain["id"],
        service_id=service,
        resource_name="servers",
        resource_limit=30,
    )
    other = cloud.project(domain_id=domain["id"])
    _limit(
        cloud,
        project_id=other["id"],
        service_id=service,
        resource_name="servers",
        resource_limit=25,
    )
    assert_error(
        cloud.patch(f"/v3/limits/{dom_limit['id']}", json={"limit": {"resource_limit": 20}}), 403
    )
    # In one request, the domain limit in the same batch is the ceiling.
    third = cloud.project(domain_id=cloud.domain()["id"])
    body = {
        "limits": [
            {
                "domain_id": third["domain_id"],
                "service_id": service,
                "resource_name": "servers",
                "resource_limit": 50,
            },
            {
                "project_id": third["id"],
                "service_id": service,
                "resource_name": "servers",
                "resource_limit": 40,
            },
        ]
    }
    assert cloud.post("/v3/limits", json=body).status_code == 201
