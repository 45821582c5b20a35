"""Endpoint groups and project endpoint filters (OS-EP-FILTER), and the policy API with
OS-ENDPOINT-POLICY."""

from __future__ import annotations

from typing import Any

from tests.identity.conftest import Cloud, assert_error, unique

EPF = "/v3/OS-EP-FILTER"


def _service(cloud: Cloud, region: str = "RegionOne") -> tuple[dict[str, Any], list[str]]:
    service = cloud.ok(
        "POST",
        "/v3/services",
        status=201,
        json={"service": {"type": unique("t"), "name": unique("s")}},
    )["service"]
    ids = []
    for interface in ("public", "internal"):
        body = {
            "endpoint": {
                "service_id": service["id"],
                "interface": interface,
                "url": f"http://{unique('h')}/",
                "region_id": region,
            }
        }
        ids.append(cloud.ok("POST", "/v3/endpoints", status=201, json=body)["endpoint"]["id"])
    return service, ids


def _catalog_endpoints(token: dict[str, Any]) -> set[str]:
    return {e["id"] for s in token["catalog"] for e in s["endpoints"]}


def test_endpoint_group_crud_and_bad_input(fresh_cloud: Cloud) -> None:
    cloud = fresh_cloud
    service, endpoint_ids = _service(cloud)
    body = {
        "endpoint_group": {
            "name": "g",
            "description": "d",
            "filters": {"service_id": service["id"], "interface": "public"},
        }
    }
    group = cloud.ok("POST", f"{EPF}/endpoint_groups", status=201, json=body)["endpoint_group"]
    assert group["filters"] == {"service_id": service["id"], "interface": "public"}
    path = f"{EPF}/endpoint_groups/{group['id']}"
    assert cloud.ok("GET", path)["endpoint_group"]["name"] == "g"
    assert cloud.head(path).status_code == 200
    assert [
        g["id"] for g in cloud.ok("GET", f"{EPF}/endpoint_groups?name=g")["endpoint_groups"]
    ] == [group["id"]]
    endpoints = cloud.ok("GET", f"{path}/endpoints")["endpoints"]
    assert [e["id"] for e in endpoints] == [endpoint_ids[0]]
    updated = cloud.ok(
        "PATCH", path, json={"endpoint_group": {"filters": {"service_id": service["id"]}}}
    )
    assert updated["endpoint_group"]["filters"] == {"service_id": service["id"]}
    assert {e["id"] for e in cloud.ok("GET", f"{path}/endpoints")["endpoints"]} == set(endpoint_ids)
    for bad in (
        {"name": "x"},
        {"name": "x", "filters": {}},
        {"name": "x", "filters": {"url": "u"}},
        {"name": "x", "filters": {"interface": "bogus"}},
        {"filters": {"interface": "public"}},
    ):
        assert_error(cloud.post(f"{EPF}/endpoint_groups", json={"endpoint_group": bad}), 400)
    assert_error(cloud.patch(path, json={"endpoint_group": {}}), 400)
    _, _, member = cloud.member()
    assert_error(cloud.get(f"{EPF}/endpoint_groups", token=member), 403)
    assert cloud.delete(path).status_code == 204
    assert_error(cloud.get(path), 404)


def test_project_filters_shape_the_catalog(fresh_cloud: Cloud) -> None:
    cloud = fresh_cloud
    service, endpoint_ids = _service(cloud)
    other_service, other_ids = _service(cloud)
    project, user, _ = cloud.member()
    everything = cloud.login(user["id"], scope={"project": {"id": project["id"]}})[1]
    assert set(endpoint_ids + other_ids) <= _catalog_endpoints(everything)
    # One endpoint directly.
    direct = f"{EPF}/projects/{project['id']}/endpoints/{endpoint_ids[0]}"
    assert cloud.put(direct).status_code == 204
    assert_error(cloud.put(direct), 409)
    assert cloud.get(direct).status_code == 204
    token_id, token = cloud.login(user["id"], scope={"project": {"id": project["id"]}})
    assert _catalog_endpoints(token) == {endpoint_ids[0]}
    catalog = cloud.ok("GET", "/v3/auth/catalog", token=token_id)["catalog"]
    assert [s["id"] for s in catalog] == [service["id"]]
    listed = cloud.ok("GET", f"{EPF}/projects/{project['id']}/endpoints")["endpoints"]
    assert [e["id"] for e in listed] == [endpoint_ids[0]]
    projects = cloud.ok("GET", f"{EPF}/endpoints/{endpoint_ids[0]}/projects")["projects"]
    assert [p["id"] for p in projects] == [project["id"]]
    # And another service's endpoints through a group.
    body = {"endpoint_group": {"name": unique("g"), "filters": {"service_id": other_service["id"]}}}
    group = cloud.ok("POST", f"{EPF}/endpoint_groups", status=201, json=body)["endpoint_group"]
    link = f"{EPF}/endpoint_groups/{group['id']}/projects/{project['id']}"
    assert cloud.put(link).status_code == 204
    shown = cloud.ok("GET", link)["project_endpoint_group"]
    assert shown == {**shown, "endpoint_group_id": group["id"], "project_id": project["id"]}
    groups = cloud.ok("GET", f"{EPF}/projects/{project['id']}/endpoint_groups")["endpoint_groups"]
    assert [g["id"] for g in groups] == [group["id"]]
    in_group = cloud.ok("GET", f"{EPF}/endpoint_groups/{group['id']}/projects")["projects"]
    assert [p["id"] for p in in_group] == [project["id"]]
    _, token = cloud.login(user["id"], scope={"project": {"id": project["id"]}})
    assert _catalog_endpoints(token) == {endpoint_ids[0], *other_ids}
    # Other projects still see everything.
    _, other_user, _ = cloud.member()
    # Removing the filters restores the full catalog.
    assert cloud.delete(direct).status_code == 204
    assert_error(cloud.delete(direct), 404)
    assert cloud.delete(link).status_code == 204
    _, token = cloud.login(user["id"], scope={"project": {"id": project["id"]}})
    assert set(endpoint_ids + other_ids) <= _catalog_endpoints(token)
    assert_error(cloud.put(f"{EPF}/projects/nosuch/endpoints/{endpoint_ids[0]}"), 404)
    assert_error(cloud.put(f"{EPF}/projects/{project['id']}/endpoints/nosuch"), 404)
    assert_error(cloud.put(f"{EPF}/endpoint_groups/nosuch/projects/{project['id']}"), 404)


def test_policies_and_endpoint_policies(fresh_cloud: Cloud) -> None:
    cloud = fresh_cloud
    body = {"policy": {"blob": '{"rule": "role:admin"}', "type": "application/json", "x": "y"}}
    policy = cloud.ok("POST", "/v3/policies", status=201, json=body)["policy"]
    assert policy["blob"] == '{"rule": "role:admin"}' and policy["x"] == "y"
    path = f"/v3/policies/{policy['id']}"
    assert (
        cloud.ok("PATCH", path, json={"policy": {"type": "text/yaml"}})["policy"]["type"]
        == "text/yaml"
    )
    assert [p["id"] for p in cloud.ok("GET", "/v3/policies?type=text/yaml")["policies"]] == [
        policy["id"]
    ]
    for bad in ({}, {"blob": "b"}, {"type": "t"}, {"blob": 1, "type": "t"}):
        assert_error(cloud.post("/v3/policies", json={"policy": bad}), 400)
    assert_error(cloud.patch(path, json={"policy": {}}), 400)
    _, _, member = cloud.member()
    assert_error(cloud.get("/v3/policies", token=member), 403)
    # OS-ENDPOINT-POLICY: a service-wide policy, overridden for one endpoint.
    service, endpoint_ids = _service(cloud)
    other = cloud.ok(
        "POST", "/v3/policies", status=201, json={"policy": {"blob": "b", "type": "t"}}
    )["policy"]
    ep = f"{path}/OS-ENDPOINT-POLICY"
    assert cloud.put(f"{ep}/services/{service['id']}").status_code == 204
    assert cloud.get(f"{ep}/services/{service['id']}").status_code == 204
    assert (
        cloud.put(
            f"/v3/policies/{other['id']}/OS-ENDPOINT-POLICY/endpoints/{endpoint_ids[1]}"
        ).status_code
        == 204
    )
    for endpoint_id, expected in ((endpoint_ids[0], policy["id"]), (endpoint_ids[1], other["id"])):
        got = cloud.ok("GET", f"/v3/endpoints/{endpoint_id}/OS-ENDPOINT-POLICY/policy")["policy"]
        assert got["id"] == expected
    listed = cloud.ok("GET", f"{ep}/endpoints")["endpoints"]
    assert {e["id"] for e in listed} == set(endpoint_ids)
    assert cloud.put(f"{ep}/services/{service['id']}/regions/RegionOne").status_code == 204
    assert cloud.get(f"{ep}/services/{service['id']}/regions/RegionOne").status_code == 204
    assert_error(cloud.get(f"{ep}/endpoints/{endpoint_ids[0]}"), 404)
    assert_error(cloud.put(f"{ep}/endpoints/nosuch"), 404)
    assert cloud.delete(f"{ep}/services/{service['id']}").status_code == 204
    assert_error(cloud.delete(f"{ep}/services/{service['id']}"), 404)
    assert cloud.delete(path).status_code == 204
    assert_error(cloud.get(path), 404)
    assert_error(cloud.get(f"/v3/endpoints/{endpoint_ids[0]}/OS-ENDPOINT-POLICY/policy"), 404)
