"""Ports: fixed IPs, MACs, security groups, address pairs, bindings and deletion rules."""

from __future__ import annotations

from typing import Any

from tests.network.conftest import PROJECT_B, Api, error_type


def _net(api: Api, cidr: str = "10.0.0.0/24", **body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    net = api.network(**body)
    return net, api.subnet(net["id"], cidr)


def test_port_with_requested_fixed_ip(api: Api) -> None:
    net, subnet = _net(api)
    port = api.port(net["id"], fixed_ips=[{"ip_address": "10.0.0.10"}], name="p")
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.0.0.10"}]
    assert port["status"] == "DOWN" and port["mac_address"].startswith("fa:16:3e:")
    assert port["admin_state_up"] is True and port["revision_number"] == 1
    resp = api.post(
        "/v2.0/ports",
        {"port": {"network_id": net["id"], "fixed_ips": [{"ip_address": "10.0.0.10"}]}},
    )
    assert resp.status_code == 409 and error_type(resp) == "IpAddressAlreadyAllocated"
    by_subnet = api.port(net["id"], fixed_ips=[{"subnet_id": subnet["id"]}])
    assert by_subnet["fixed_ips"][0]["subnet_id"] == subnet["id"]
    found = api.get("/v2.0/ports", fixed_ips="ip_address=10.0.0.10").json()["ports"]
    assert [p["id"] for p in found] == [port["id"]]
    substr = api.get("/v2.0/ports", fixed_ips="ip_address_substr=0.0.10").json()["ports"]
    assert port["id"] in [p["id"] for p in substr]
    assert api.get("/v2.0/ports", fixed_ips="ip_address_substr=10.9.").json()["ports"] == []
    no_ip = api.port(net["id"], fixed_ips=[])
    assert no_ip["fixed_ips"] == []


def test_bad_fixed_ips(api: Api) -> None:
    net, subnet = _net(api)
    other_net, other_subnet = _net(api, "10.1.0.0/24")
    cases = [
        ([{"ip_address": "10.9.9.9"}], "InvalidIpForNetwork"),
        ([{"subnet_id": subnet["id"], "ip_address": "10.1.0.5"}], "InvalidIpForSubnet"),
        ([{"subnet_id": other_subnet["id"]}], "InvalidInput"),
        ([{"ip_address": "10.0.0.0"}], "InvalidIpForNetwork"),
        ([{"ip_address": "bogus"}], "InvalidInput"),
        ([{"ip_address": "10.0.0.7"}, {"ip_address": "10.0.0.7"}], "InvalidInput"),
    ]
    for fixed, kind in cases:
        resp = api.post("/v2.0/ports", {"port": {"network_id": net["id"], "fixed_ips": fixed}})
        assert resp.status_code == 400, (fixed, resp.text)
        assert error_type(resp) == kind, fixed
    assert api.post("/v2.0/ports", {"port": {"network_id": "missing"}}).status_code == 404


def test_pool_exhaustion_is_409(api: Api) -> None:
    net = api.network()
    api.subnet(
        net["id"], "10.0.0.0/29", allocation_pools=[{"start": "10.0.0.2", "end": "10.0.0.3"}]
    )
    ips = {api.port(net["id"])["fixed_ips"][0]["ip_address"] for _ in range(2)}
    assert ips == {"10.0.0.2", "10.0.0.3"}
    resp = api.post("/v2.0/ports", {"port": {"network_id": net["id"]}})
    assert resp.status_code == 409 and error_type(resp) == "IpAddressGenerationFailure"


def test_mac_address(api: Api) -> None:
    net, _ = _net(api)
    port = api.port(net["id"], mac_address="FA:16:3E:AA:BB:CC")
    assert port["mac_address"] == "fa:16:3e:aa:bb:cc"
    resp = api.post(
        "/v2.0/ports", {"port": {"network_id": net["id"], "mac_address": "fa:16:3e:aa:bb:cc"}}
    )
    assert resp.status_code == 409 and error_type(resp) == "MacAddressInUse"
    resp = api.post("/v2.0/ports", {"port": {"network_id": net["id"], "mac_address": "zz"}})
    assert resp.status_code == 400


def test_security_groups_and_address_pairs(api: Api) -> None:
    net, _ = _net(api)
    port = api.port(net["id"])
    groups = api.get("/v2.0/security-groups").json()["security_groups"]
    default = next(g for g in groups if g["name"] == "default")
    assert port["security_groups"] == [default["id"]]
    sg = api.create("security_group", path="security-groups", name="web")
    path = f"/v2.0/ports/{port['id']}"
    pairs = [
        {"ip_address": "10.0.0.200"},
        {"ip_address": "192.168.0.0/24", "mac_address": "fa:16:3e:00:00:09"},
    ]
    resp = api.put(path, {"port": {"security_groups": [sg["id"]], "allowed_address_pairs": pairs}})
    assert resp.status_code == 200, resp.text
    updated = resp.json()["port"]
    assert updated["security_groups"] == [sg["id"]]
    assert updated["allowed_address_pairs"][0] == {
        "ip_address": "10.0.0.200",
        "mac_address": port["mac_address"],
    }
    assert [p["id"] for p in api.get("/v2.0/ports", security_groups=sg["id"]).json()["ports"]] == [
        port["id"]
    ]
    resp = api.put(path, {"port": {"port_security_enabled": False, "allowed_address_pairs": []}})
    assert resp.status_code == 409 and error_type(resp) == "PortSecurityPortHasSecurityGroup"
    resp = api.put(
        path,
        {
            "port": {
                "port_security_enabled": False,
                "security_groups": [],
                "allowed_address_pairs": [],
            }
        },
    )
    assert resp.status_code == 200 and resp.json()["port"]["port_security_enabled"] is False
    resp = api.delete(f"/v2.0/security-groups/{sg['id']}")
    assert resp.status_code == 204
    bad = api.post("/v2.0/ports", {"port": {"network_id": net["id"], "security_groups": ["nope"]}})
    assert bad.status_code == 404 and error_type(bad) == "SecurityGroupNotFound"


def test_update_fixed_ips(api: Api) -> None:
    net, subnet = _net(api)
    port = api.port(net["id"], fixed_ips=[{"ip_address": "10.0.0.5"}])
    path = f"/v2.0/ports/{port['id']}"
    resp = api.put(
        path, {"port": {"fixed_ips": [{"ip_address": "10.0.0.5"}, {"ip_address": "10.0.0.6"}]}}
    )
    assert [ip["ip_address"] for ip in resp.json()["port"]["fixed_ips"]] == ["10.0.0.5", "10.0.0.6"]
    resp = api.put(
        path, {"port": {"fixed_ips": [{"subnet_id": subnet["id"], "ip_address": "10.0.0.6"}]}}
    )
    assert [ip["ip_address"] for ip in resp.json()["port"]["fixed_ips"]] == ["10.0.0.6"]
    again = api.port(net["id"], fixed_ips=[{"ip_address": "10.0.0.5"}])
    assert again["fixed_ips"][0]["ip_address"] == "10.0.0.5"


def test_binding_attributes_are_for_admins(api: Api) -> None:
    net, _ = _net(api)
    resp = api.post("/v2.0/ports", {"port": {"network_id": net["id"], "binding:host_id": "h1"}})
    assert resp.status_code == 403
    port = api.port(
        net["id"],
        api.admin(),
        **{"binding:host_id": "h1", "device_owner": "compute:nova", "device_id": "server-1"},
    )
    assert port["binding:vif_type"] == "bridge"
    assert port["binding:vif_details"]["bridge_name"] == "brq" + net["id"][:11]
    assert port["binding:vnic_type"] == "normal"
    shown = api.get(f"/v2.0/ports/{port['id']}").json()["port"]
    assert "binding:vif_type" not in shown and shown["binding:vnic_type"] == "normal"
    direct = api.port(
        net["id"], api.admin(), **{"binding:host_id": "h1", "binding:vnic_type": "direct"}
    )
    assert direct["binding:vif_type"] == "binding_failed"
    resp = api.put(f"/v2.0/ports/{direct['id']}", {"port": {"binding:host_id": ""}}, api.admin())
    assert resp.json()["port"]["binding:vif_type"] == "unbound"
    servers = api.get("/v2.0/ports", device_id="server-1").json()["ports"]
    assert [p["id"] for p in servers] == [port["id"]]


def test_network_in_use_and_other_projects(api: Api) -> None:
    net, _ = _net(api)
    port = api.port(net["id"])
    resp = api.delete(f"/v2.0/networks/{net['id']}")
    assert resp.status_code == 409 and error_type(resp) == "NetworkInUse"
    other = api.headers(PROJECT_B)
    assert api.get(f"/v2.0/ports/{port['id']}", other).status_code == 404
    assert api.delete(f"/v2.0/ports/{port['id']}", other).status_code == 404
    assert api.put(f"/v2.0/ports/{port['id']}", {"port": {"name": "x"}}, other).status_code == 404
    resp = api.post("/v2.0/ports", {"port": {"network_id": net["id"]}}, other)
    assert resp.status_code == 404 and error_type(resp) == "NetworkNotFound"
    assert api.delete(f"/v2.0/ports/{port['id']}").status_code == 204
    assert api.delete(f"/v2.0/networks/{net['id']}").status_code == 204


def test_ports_on_shared_network(api: Api) -> None:
    net = api.network(api.admin(), shared=True)
    api.subnet(net["id"], "10.0.0.0/24", api.admin())
    other = api.headers(PROJECT_B)
    port = api.port(net["id"], other)
    assert port["project_id"] == PROJECT_B
    resp = api.post(
        "/v2.0/ports",
        {"port": {"network_id": net["id"], "fixed_ips": [{"ip_address": "10.0.0.9"}]}},
        other,
    )
    assert resp.status_code == 403
    admin_view = api.get("/v2.0/ports", api.admin(), network_id=net["id"]).json()["ports"]
    assert [p["id"] for p in admin_view] == [port["id"]]
    resp = api.put(f"/v2.0/networks/{net['id']}", {"network": {"shared": False}}, api.admin())
    assert resp.status_code == 409 and error_type(resp) == "InvalidSharedSetting"


def test_bulk_port_create_is_atomic(api: Api) -> None:
    net, _ = _net(api)
    body = {
        "ports": [{"network_id": net["id"], "name": f"p{i}", "tags": ["bulk"]} for i in range(5)]
    }
    resp = api.post("/v2.0/ports", body)
    assert resp.status_code == 201 and len(resp.json()["ports"]) == 5
    assert resp.json()["ports"][0]["tags"] == ["bulk"]
    body["ports"].append({"network_id": net["id"], "fixed_ips": [{"ip_address": "bad"}]})
    assert api.post("/v2.0/ports", body).status_code == 400
    assert len(api.get("/v2.0/ports", tags="bulk").json()["ports"]) == 5
