"""Routers, interfaces, static routes and floating IPs."""

from __future__ import annotations

from typing import Any

from tests.network.conftest import PROJECT_B, Api, error_type


def _topology(api: Api) -> dict[str, Any]:
    public, public_subnet = api.external_network()
    net = api.network()
    subnet = api.subnet(net["id"], "10.0.0.0/24")
    router = api.router(external_gateway_info={"network_id": public["id"]})
    resp = api.put(
        f"/v2.0/routers/{router['id']}/add_router_interface", {"subnet_id": subnet["id"]}
    )
    assert resp.status_code == 200, resp.text
    return {
        "public": public,
        "public_subnet": public_subnet,
        "net": net,
        "subnet": subnet,
        "router": router,
        "interface": resp.json(),
    }


def test_router_gateway_and_interfaces(api: Api) -> None:
    t = _topology(api)
    router, subnet = t["router"], t["subnet"]
    gateway = router["external_gateway_info"]
    assert gateway["network_id"] == t["public"]["id"] and gateway["enable_snat"] is True
    assert gateway["external_fixed_ips"][0]["subnet_id"] == t["public_subnet"]["id"]
    assert router["status"] == "ACTIVE" and "ha" not in router
    assert api.get(f"/v2.0/routers/{router['id']}", api.admin()).json()["router"]["ha"] is False
    info = t["interface"]
    assert info["subnet_id"] == subnet["id"] and info["subnet_ids"] == [subnet["id"]]
    port = api.get(f"/v2.0/ports/{info['port_id']}").json()["port"]
    assert port["device_owner"] == "network:router_interface"
    assert port["fixed_ips"][0]["ip_address"] == "10.0.0.1" and port["device_id"] == router["id"]
    again = api.put(
        f"/v2.0/routers/{router['id']}/add_router_interface", {"subnet_id": subnet["id"]}
    )
    assert again.status_code == 400
    other_net = api.network()
    overlapping = api.subnet(other_net["id"], "10.0.0.0/25")
    resp = api.put(
        f"/v2.0/routers/{router['id']}/add_router_interface", {"subnet_id": overlapping["id"]}
    )
    assert resp.status_code == 400 and error_type(resp) == "BadRequest"
    assert api.delete(f"/v2.0/ports/{info['port_id']}").status_code == 409
    resp = api.delete(f"/v2.0/routers/{router['id']}")
    assert resp.status_code == 409 and error_type(resp) == "RouterInUse"
    resp = api.put(
        f"/v2.0/routers/{router['id']}/remove_router_interface", {"subnet_id": subnet["id"]}
    )
    assert resp.status_code == 200 and resp.json()["port_id"] == info["port_id"]
    resp = api.put(
        f"/v2.0/routers/{router['id']}/remove_router_interface", {"subnet_id": subnet["id"]}
    )
    assert resp.status_code == 404 and error_type(resp) == "RouterInterfaceNotFoundForSubnet"
    assert api.delete(f"/v2.0/routers/{router['id']}").status_code == 204


def test_interface_by_port_and_routes(api: Api) -> None:
    t = _topology(api)
    router = t["router"]
    net2 = api.network()
    subnet2 = api.subnet(net2["id"], "10.5.0.0/24")
    port = api.port(net2["id"], fixed_ips=[{"ip_address": "10.5.0.1"}])
    path = f"/v2.0/routers/{router['id']}"
    resp = api.put(f"{path}/add_router_interface", {"port_id": port["id"]})
    assert resp.status_code == 200 and resp.json()["subnet_ids"] == [subnet2["id"]]
    routes = [{"destination": "192.168.9.0/24", "nexthop": "10.5.0.50"}]
    updated = api.put(path, {"router": {"routes": routes}}).json()["router"]
    assert updated["routes"] == routes
    bad = api.put(
        path, {"router": {"routes": [{"destination": "1.0.0.0/8", "nexthop": "9.9.9.9"}]}}
    )
    assert bad.status_code == 400
    resp = api.put(f"{path}/remove_router_interface", {"port_id": port["id"]})
    assert resp.status_code == 409 and error_type(resp) == "RouterInterfaceInUseByRoute"
    extra = {"router": {"routes": [{"destination": "192.168.10.0/24", "nexthop": "10.0.0.7"}]}}
    added = api.put(f"{path}/add_extraroutes", extra).json()["router"]["routes"]
    assert len(added) == 2
    removed = api.put(f"{path}/remove_extraroutes", {"router": {"routes": routes}}).json()["router"]
    assert removed["routes"] == extra["router"]["routes"]
    assert api.put(f"{path}/remove_router_interface", {"port_id": port["id"]}).status_code == 200
    assert api.get(f"/v2.0/ports/{port['id']}").status_code == 404


def test_gateway_rules(api: Api) -> None:
    public, _ = api.external_network()
    internal = api.network()
    router = api.router()
    path = f"/v2.0/routers/{router['id']}"
    resp = api.put(path, {"router": {"external_gateway_info": {"network_id": internal["id"]}}})
    assert resp.status_code == 400
    resp = api.put(
        path,
        {"router": {"external_gateway_info": {"network_id": public["id"], "enable_snat": False}}},
    )
    assert resp.status_code == 403
    resp = api.put(path, {"router": {"external_gateway_info": {"network_id": public["id"]}}})
    assert resp.status_code == 200 and resp.json()["router"]["external_gateway_info"]
    resp = api.put(path, {"router": {"external_gateway_info": {}}})
    assert resp.json()["router"]["external_gateway_info"] is None
    assert api.post("/v2.0/routers", {"router": {"ha": True}}).status_code == 403
    assert api.get(path, api.headers(PROJECT_B)).status_code == 404


def test_floating_ips(api: Api) -> None:
    t = _topology(api)
    port = api.port(t["net"]["id"], device_owner="compute:nova", device_id="vm-1")
    fip = api.create("floatingip", floating_network_id=t["public"]["id"])
    assert fip["status"] == "DOWN" and fip["port_id"] is None
    assert fip["floating_ip_address"].startswith("172.24.4.")
    path = f"/v2.0/floatingips/{fip['id']}"
    resp = api.put(path, {"floatingip": {"port_id": port["id"]}})
    assert resp.status_code == 200, resp.text
    fip = resp.json()["floatingip"]
    assert fip["router_id"] == t["router"]["id"]
    assert fip["fixed_ip_address"] == port["fixed_ips"][0]["ip_address"]
    assert fip["port_details"]["device_id"] == "vm-1"
    second = api.post(
        "/v2.0/floatingips",
        {"floatingip": {"floating_network_id": t["public"]["id"], "port_id": port["id"]}},
    )
    assert second.status_code == 409 and error_type(second) == "FloatingIPPortAlreadyAssociated"
    resp = api.put(
        f"/v2.0/routers/{t['router']['id']}/remove_router_interface",
        {"subnet_id": t["subnet"]["id"]},
    )
    assert resp.status_code == 409 and error_type(resp) == "RouterInterfaceInUseByFloatingIP"
    found = api.get("/v2.0/floatingips", port_id=port["id"]).json()["floatingips"]
    assert [f["id"] for f in found] == [fip["id"]]
    assert api.delete(f"/v2.0/ports/{port['id']}").status_code == 204
    assert api.get(path).json()["floatingip"]["port_id"] is None
    not_external = api.post(
        "/v2.0/floatingips", {"floatingip": {"floating_network_id": t["net"]["id"]}}
    )
    assert not_external.status_code == 400
    lonely = api.network()
    api.subnet(lonely["id"], "10.7.0.0/24")
    lonely_port = api.port(lonely["id"])
    resp = api.put(path, {"floatingip": {"port_id": lonely_port["id"]}})
    assert resp.status_code == 404 and error_type(resp) == "ExternalGatewayForFloatingIPNotFound"
    chosen = api.post(
        "/v2.0/floatingips",
        {
            "floatingip": {
                "floating_network_id": t["public"]["id"],
                "floating_ip_address": "172.24.4.200",
            }
        },
    )
    assert chosen.status_code == 403
    admin_fip = api.create(
        "floatingip",
        api.admin(),
        floating_network_id=t["public"]["id"],
        floating_ip_address="172.24.4.200",
    )
    assert admin_fip["floating_ip_address"] == "172.24.4.200"
    assert api.get(path, api.headers(PROJECT_B)).status_code == 404
    assert api.delete(path).status_code == 204
    assert api.get(path).status_code == 404


def test_port_forwardings_show_in_their_floating_ip(api: Api) -> None:
    t = _topology(api)
    port = api.port(t["net"]["id"])
    address = port["fixed_ips"][0]["ip_address"]
    fip = api.create("floatingip", floating_network_id=t["public"]["id"])
    pfs = f"/v2.0/floatingips/{fip['id']}/port_forwardings"
    common = {"internal_port_id": port["id"], "internal_ip_address": address, "protocol": "tcp"}
    for body in (
        {**common, "internal_port": 22, "external_port": 2222},
        {**common, "internal_port_range": "80:81", "external_port_range": "8080:8081"},
    ):
        resp = api.post(pfs, {"port_forwarding": body})
        assert resp.status_code == 201, resp.text
    shown = api.get(f"/v2.0/floatingips/{fip['id']}").json()["floatingip"]["port_forwardings"]
    base = {"protocol": "tcp", "internal_ip_address": address}
    assert sorted(shown, key=str) == sorted(
        [
            {**base, "internal_port": 22, "external_port": 2222},
            {**base, "internal_port_range": "80:81", "external_port_range": "8080:8081"},
        ],
        key=str,
    )
    # a floating IP with forwardings is not deleted under them
    resp = api.delete(f"/v2.0/floatingips/{fip['id']}")
    assert resp.status_code == 409 and error_type(resp) == "FipInUseByPortForwarding"
    # nor does a port with a floating IP of its own take forwardings
    other = api.port(t["net"]["id"])
    api.create("floatingip", floating_network_id=t["public"]["id"], port_id=other["id"])
    resp = api.post(
        pfs,
        {
            "port_forwarding": {
                **common,
                "internal_port_id": other["id"],
                "internal_ip_address": other["fixed_ips"][0]["ip_address"],
                "internal_port": 22,
                "external_port": 2223,
            }
        },
    )
    assert resp.status_code == 409 and error_type(resp) == "PortHasBindingFloatingIP"
    for pf in api.get(pfs).json()["port_forwardings"]:
        assert api.delete(f"{pfs}/{pf['id']}").status_code == 204
    assert api.get(f"/v2.0/floatingips/{fip['id']}").json()["floatingip"]["port_forwardings"] == []
    assert api.delete(f"/v2.0/floatingips/{fip['id']}").status_code == 204
