"""Networks: provider segments, sharing, external, MTU, standard attributes and lists."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.network.conftest import PROJECT_B, Api, error_type


def test_create_tenant_network_gets_a_vxlan_segment(api: Api) -> None:
    net = api.network()
    assert net["status"] == "ACTIVE" and net["admin_state_up"] is True
    assert net["project_id"] == net["tenant_id"] == "project-a"
    assert net["mtu"] == 1450 and net["revision_number"] == 1
    assert "provider:network_type" not in net  # admin-only attribute
    shown = api.get(f"/v2.0/networks/{net['id']}", api.admin()).json()["network"]
    assert shown["provider:network_type"] == "vxlan"
    assert shown["provider:segmentation_id"] == 1
    assert api.network()["id"] != net["id"]
    second = api.get("/v2.0/networks", api.admin(), sort_key="created_at").json()["networks"]
    assert sorted(n["provider:segmentation_id"] for n in second) == [1, 2]


def test_provider_networks(api: Api) -> None:
    admin = api.admin()
    vx = api.network(admin, **{"provider:network_type": "vxlan", "provider:segmentation_id": 77})
    assert vx["provider:segmentation_id"] == 77 and vx["mtu"] == 1450
    resp = api.post(
        "/v2.0/networks",
        {"network": {"provider:network_type": "vxlan", "provider:segmentation_id": 77}},
        admin,
    )
    assert resp.status_code == 409 and error_type(resp) == "TunnelIdInUse"
    vlan = api.network(
        admin, **{"provider:network_type": "vlan", "provider:physical_network": "physnet1"}
    )
    assert vlan["provider:segmentation_id"] == 1000 and vlan["mtu"] == 1500
    flat = api.network(
        admin, **{"provider:network_type": "flat", "provider:physical_network": "public"}
    )
    assert flat["provider:segmentation_id"] is None
    again = api.post(
        "/v2.0/networks",
        {"network": {"provider:network_type": "flat", "provider:physical_network": "public"}},
        admin,
    )
    assert again.status_code == 409 and error_type(again) == "FlatNetworkInUse"
    local = api.network(admin, **{"provider:network_type": "local"})
    assert local["provider:network_type"] == "local"
    for bad in (
        {"provider:network_type": "gre"},
        {"provider:network_type": "flat", "provider:physical_network": "nope"},
        {
            "provider:network_type": "vlan",
            "provider:physical_network": "physnet1",
            "provider:segmentation_id": 5000,
        },
        {"provider:network_type": "vxlan", "provider:physical_network": "physnet1"},
    ):
        resp = api.post("/v2.0/networks", {"network": bad}, admin)
        assert resp.status_code == 400, (bad, resp.text)
        assert error_type(resp) == "InvalidInput"


def test_multi_segment_network(api: Api) -> None:
    segments = [
        {
            "provider:network_type": "vlan",
            "provider:physical_network": "physnet1",
            "provider:segmentation_id": 1500,
        },
        {"provider:network_type": "vxlan"},
    ]
    net = api.network(api.admin(), segments=segments)
    assert [s["provider:network_type"] for s in net["segments"]] == ["vlan", "vxlan"]
    assert "provider:network_type" not in net
    assert net["mtu"] == 1450


def test_member_may_not_set_provider_or_shared(api: Api) -> None:
    for body in ({"shared": True}, {"provider:network_type": "vxlan"}, {"router:external": True}):
        resp = api.post("/v2.0/networks", {"network": body})
        assert resp.status_code == 403, body
        assert error_type(resp) == "PolicyNotAuthorized"
    assert api.post("/v2.0/networks", {"network": {"shared": False}}).status_code == 201


def test_shared_network_is_visible_to_other_projects(api: Api) -> None:
    private = api.network(name="private")
    shared = api.network(api.admin(), name="shared", shared=True)
    other = api.headers(PROJECT_B)
    names = {n["name"] for n in api.get("/v2.0/networks", other).json()["networks"]}
    assert names == {"shared"}
    assert api.get(f"/v2.0/networks/{private['id']}", other).status_code == 404
    resp = api.put(f"/v2.0/networks/{shared['id']}", {"network": {"name": "x"}}, other)
    assert resp.status_code == 403
    assert api.get("/v2.0/networks", other, shared="true").json()["networks"][0]["shared"]


def test_update_and_revision_constraint(api: Api) -> None:
    net = api.network()
    path = f"/v2.0/networks/{net['id']}"
    resp = api.put(path, {"network": {"name": "renamed", "mtu": 1400}})
    assert resp.status_code == 200, resp.text
    updated = resp.json()["network"]
    assert updated["name"] == "renamed" and updated["mtu"] == 1400
    assert updated["revision_number"] == net["revision_number"] + 1
    headers = {**api.headers(), "If-Match": "revision_number=1"}
    resp = api.client.put(path, json={"network": {"name": "again"}}, headers=headers)
    assert resp.status_code == 412 and error_type(resp) == "RevisionNumberConstraintFailed"
    headers["If-Match"] = f"revision_number={updated['revision_number']}"
    assert (
        api.client.put(path, json={"network": {"name": "ok"}}, headers=headers).status_code == 200
    )
    assert api.put(path, {"network": {"mtu": 9000}}).status_code == 400
    assert api.put(path, {"network": {"bogus": 1}}).status_code == 400
    resp = api.client.delete(path, headers={**api.headers(), "If-Match": "revision_number=1"})
    assert resp.status_code == 412
    assert api.delete(path).status_code == 204
    assert error_type(api.get(path)) == "NetworkNotFound"


def test_external_network(api: Api) -> None:
    net, _subnet = api.external_network()
    listed = api.get("/v2.0/networks", api.headers(PROJECT_B)).json()["networks"]
    assert [n["id"] for n in listed] == [net["id"]] and listed[0]["router:external"]
    resp = api.put(f"/v2.0/networks/{net['id']}", {"network": {"router:external": False}})
    assert resp.status_code == 403


def test_deleting_an_external_network_takes_its_loose_floating_ips(api: Api) -> None:
    net, _subnet = api.external_network()
    loose = api.create("floatingip", floating_network_id=net["id"])
    inner = api.network()
    api.subnet(inner["id"], "10.31.0.0/24")
    router = api.create("router", external_gateway_info={"network_id": net["id"]})
    body = {
        "subnet_id": api.get(f"/v2.0/subnets?network_id={inner['id']}").json()["subnets"][0]["id"]
    }
    assert api.put(f"/v2.0/routers/{router['id']}/add_router_interface", body).status_code == 200
    port = api.port(inner["id"])
    bound = api.create("floatingip", floating_network_id=net["id"], port_id=port["id"])
    # an associated floating IP (and the router's gateway) keep the network in use
    resp = api.delete(f"/v2.0/networks/{net['id']}", api.admin())
    assert resp.status_code == 409 and error_type(resp) == "NetworkInUse"
    assert api.get(f"/v2.0/floatingips/{loose['id']}").status_code == 200
    api.delete(f"/v2.0/floatingips/{bound['id']}")
    api.put(f"/v2.0/routers/{router['id']}/remove_router_interface", body)
    api.delete(f"/v2.0/routers/{router['id']}")
    assert api.delete(f"/v2.0/networks/{net['id']}", api.admin()).status_code == 204
    assert api.get(f"/v2.0/floatingips/{loose['id']}").status_code == 404
    assert api.get(f"/v2.0/ports?network_id={net['id']}", api.admin()).json()["ports"] == []


def test_filters_fields_sorting_and_pagination(api: Api) -> None:
    for name in ("c", "a", "d", "b", "e"):
        api.network(name=name, description=f"net {name}")
    listed = api.get("/v2.0/networks", name="b").json()["networks"]
    assert [n["name"] for n in listed] == ["b"]
    two = api.client.get(
        "/v2.0/networks?name=a&name=e&fields=id&fields=name", headers=api.headers()
    ).json()["networks"]
    assert sorted(n["name"] for n in two) == ["a", "e"] and set(two[0]) == {"id", "name"}
    desc = api.get("/v2.0/networks", sort_key="name", sort_dir="desc").json()["networks"]
    assert [n["name"] for n in desc] == ["e", "d", "c", "b", "a"]
    page = api.get("/v2.0/networks", sort_key="name", sort_dir="asc", limit=2).json()
    assert [n["name"] for n in page["networks"]] == ["a", "b"]
    nxt = next(link for link in page["networks_links"] if link["rel"] == "next")
    query = parse_qs(urlsplit(nxt["href"]).query)
    assert query["limit"] == ["2"] and query["marker"] == [page["networks"][-1]["id"]]
    page2 = api.client.get(nxt["href"], headers=api.headers()).json()
    assert [n["name"] for n in page2["networks"]] == ["c", "d"]
    prev = next(link for link in page2["networks_links"] if link["rel"] == "previous")
    back = api.client.get(prev["href"], headers=api.headers()).json()
    assert [n["name"] for n in back["networks"]] == ["a", "b"]
    assert api.get("/v2.0/networks", bogus="1").status_code == 400
    assert api.get("/v2.0/networks", sort_key="bogus", sort_dir="asc").status_code == 400
    assert api.get("/v2.0/networks", limit="x").status_code == 400
    assert api.get("/v2.0/networks", admin_state_up="maybe").status_code == 400


def test_tags(api: Api) -> None:
    net = api.network(tags=["blue"])
    base = f"/v2.0/networks/{net['id']}/tags"
    assert api.get(base).json() == {"tags": ["blue"]}
    assert api.put(base, {"tags": ["red", "green"]}).json() == {"tags": ["green", "red"]}
    assert api.client.put(f"{base}/yellow", headers=api.headers()).status_code == 201
    assert api.get(f"{base}/yellow").status_code == 204
    assert api.delete(f"{base}/red").status_code == 204
    assert api.get(f"{base}/red").status_code == 404
    other = api.network(name="untagged")
    assert [n["id"] for n in api.get("/v2.0/networks", tags="green,yellow").json()["networks"]] == [
        net["id"]
    ]
    assert [
        n["id"]
        for n in api.client.get(
            "/v2.0/networks", params={"not-tags": "green"}, headers=api.headers()
        ).json()["networks"]
    ] == [other["id"]]
    assert api.delete(base).status_code == 204
    assert api.get(base).json() == {"tags": []}
    assert api.get(f"/v2.0/networks/{net['id']}/tags", api.headers(PROJECT_B)).status_code == 404


def test_bulk_create_and_bad_bodies(api: Api) -> None:
    resp = api.post("/v2.0/networks", {"networks": [{"name": "x"}, {"name": "y"}]})
    assert resp.status_code == 201 and len(resp.json()["networks"]) == 2
    bodies: tuple[Any, ...] = ({}, {"network": "x"}, {"network": {"name": 5}}, {"networks": []})
    for body in bodies:
        resp = api.post("/v2.0/networks", body)
        assert resp.status_code == 400, body
        assert "NeutronError" in resp.json()
    resp = api.client.post(
        "/v2.0/networks",
        content=b"{nope",
        headers={**api.headers(), "Content-Type": "application/json"},
    )
    assert resp.status_code == 400


def test_json_suffix_and_versions(api: Api) -> None:
    api.network()
    assert len(api.get("/v2.0/networks.json").json()["networks"]) == 1
    assert api.client.get("/openapi.json").json()["info"]["title"] == "tinystack network"
    versions = api.client.get("/").json()["versions"]
    assert versions[0]["id"] == "v2.0" and versions[0]["status"] == "CURRENT"
    assert api.client.get("/v2.0/").status_code == 401
    resources = api.get("/v2.0/").json()["resources"]
    assert {r["collection"] for r in resources} >= {"networks", "subnets", "ports"}
