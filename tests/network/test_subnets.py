"""Subnets: IPv4/IPv6, pools, gateways, DNS, routes, subnet pools and address scopes."""

from __future__ import annotations

from typing import Any

from tests.network.conftest import PROJECT_B, Api, error_type


def test_ipv4_subnet_defaults(api: Api) -> None:
    net = api.network()
    subnet = api.subnet(net["id"], "10.0.0.0/24", dns_nameservers=["8.8.8.8"])
    assert subnet["gateway_ip"] == "10.0.0.1"
    assert subnet["allocation_pools"] == [{"start": "10.0.0.2", "end": "10.0.0.254"}]
    assert subnet["enable_dhcp"] is True and subnet["dns_nameservers"] == ["8.8.8.8"]
    assert api.get(f"/v2.0/networks/{net['id']}").json()["network"]["subnets"] == [subnet["id"]]


def test_ipv6_subnets(api: Api) -> None:
    net = api.network()
    slaac = api.subnet(net["id"], "2001:db8::/64", ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    assert slaac["gateway_ip"] == "2001:db8::"
    assert slaac["allocation_pools"][0]["start"] == "2001:db8::1"
    stateful = api.subnet(
        net["id"],
        "2001:db8:1::/64",
        gateway_ip="2001:db8:1::1",
        ipv6_ra_mode="dhcpv6-stateful",
        ipv6_address_mode="dhcpv6-stateful",
    )
    assert stateful["allocation_pools"][0]["start"] == "2001:db8:1::2"
    port = api.port(net["id"], mac_address="fa:16:3e:00:00:01")
    ips = {ip["subnet_id"]: ip["ip_address"] for ip in port["fixed_ips"]}
    assert ips[slaac["id"]] == "2001:db8::f816:3eff:fe00:1"
    assert ips[stateful["id"]].startswith("2001:db8:1:")
    # an IPv6 CIDR in any spelling is taken and kept canonical (octavia-tempest-plugin's
    # member subnets are fd7b:f9f7:0fff:4eca::/64); IPv4 must be canonical
    spelled = api.subnet(net["id"], "2001:DB8:00a0::/64")
    assert spelled["cidr"] == "2001:db8:a0::/64"
    for bad in (
        {"cidr": "2001:db8:2::/80", "ipv6_address_mode": "slaac"},
        {
            "cidr": "2001:db8:3::/64",
            "ipv6_ra_mode": "slaac",
            "ipv6_address_mode": "dhcpv6-stateful",
        },
        {"cidr": "2001:db8:4::/64", "ipv6_address_mode": "bogus"},
    ):
        resp = api.post(
            "/v2.0/subnets", {"subnet": {"network_id": net["id"], "ip_version": 6, **bad}}
        )
        assert resp.status_code == 400, bad


def test_bad_subnets_are_400(api: Api) -> None:
    net = api.network()
    api.subnet(net["id"], "10.0.0.0/24")
    cases: list[dict[str, Any]] = [
        {"cidr": "10.0.0.128/25"},  # overlaps
        {"cidr": "10.1.0.0/24", "gateway_ip": "10.2.0.1"},  # gateway outside the CIDR
        {"cidr": "10.1.0.0/24", "gateway_ip": "10.1.0.255"},  # broadcast
        {"cidr": "10.1.0.0/33"},
        {"cidr": "not-a-cidr"},
        {"cidr": "10.1.0.5/24"},
        {"cidr": "10.1.0.0/24", "ip_version": 6},
        {"cidr": "10.1.0.0/24", "ip_version": 5},
        {"cidr": "10.1.0.0/24", "allocation_pools": [{"start": "10.1.0.10", "end": "10.2.0.5"}]},
        {"cidr": "10.1.0.0/24", "allocation_pools": [{"start": "10.1.0.50", "end": "10.1.0.10"}]},
        {"cidr": "10.1.0.0/24", "dns_nameservers": ["bogus"]},
        {"cidr": "10.1.0.0/24", "host_routes": [{"destination": "x", "nexthop": "10.1.0.1"}]},
        {"cidr": "10.1.0.0/24", "enable_dhcp": "sometimes"},
        {"cidr": "10.1.0.0/24", "unknown": True},
    ]
    for extra in cases:
        body = {"subnet": {"network_id": net["id"], "ip_version": 4, **extra}}
        resp = api.post("/v2.0/subnets", body)
        assert resp.status_code == 400, (extra, resp.text)
        assert set(resp.json()["NeutronError"]) == {"type", "message", "detail"}
    body = {
        "subnet": {
            "network_id": net["id"],
            "ip_version": 4,
            "cidr": "10.1.0.0/24",
            "allocation_pools": [
                {"start": "10.1.0.10", "end": "10.1.0.20"},
                {"start": "10.1.0.15", "end": "10.1.0.30"},
            ],
        }
    }
    resp = api.post("/v2.0/subnets", body)
    assert resp.status_code == 409 and error_type(resp) == "OverlappingAllocationPools"
    body["subnet"]["allocation_pools"] = [{"start": "10.1.0.1", "end": "10.1.0.30"}]
    resp = api.post("/v2.0/subnets", body)
    assert error_type(resp) == "GatewayConflictWithAllocationPools"
    missing = api.post(
        "/v2.0/subnets", {"subnet": {"network_id": "nope", "cidr": "10.9.0.0/24", "ip_version": 4}}
    )
    assert missing.status_code == 404 and error_type(missing) == "NetworkNotFound"


def test_update_subnet(api: Api) -> None:
    net = api.network()
    subnet = api.subnet(net["id"], "10.0.0.0/24")
    path = f"/v2.0/subnets/{subnet['id']}"
    resp = api.put(
        path,
        {
            "subnet": {
                "name": "s",
                "dns_nameservers": ["1.1.1.1"],
                "gateway_ip": None,
                "host_routes": [{"destination": "10.9.0.0/16", "nexthop": "10.0.0.9"}],
            }
        },
    )
    assert resp.status_code == 200, resp.text
    updated = resp.json()["subnet"]
    assert updated["gateway_ip"] is None and updated["dns_nameservers"] == ["1.1.1.1"]
    assert updated["host_routes"][0]["nexthop"] == "10.0.0.9"
    assert api.put(path, {"subnet": {"cidr": "10.5.0.0/24"}}).status_code == 400
    assert api.put(path, {"subnet": {"gateway_ip": "10.0.0.50"}}).status_code == 409


def test_subnet_visibility(api: Api) -> None:
    net = api.network()
    subnet = api.subnet(net["id"], "10.0.0.0/24")
    other = api.headers(PROJECT_B)
    assert api.get(f"/v2.0/subnets/{subnet['id']}", other).status_code == 404
    assert api.get("/v2.0/subnets", other).json()["subnets"] == []
    resp = api.post(
        "/v2.0/subnets",
        {"subnet": {"network_id": net["id"], "cidr": "10.8.0.0/24", "ip_version": 4}},
        other,
    )
    assert resp.status_code == 404


def test_subnet_pools_and_address_scopes(api: Api) -> None:
    scope = api.create("address_scope", path="address-scopes", name="s", ip_version=4)
    pool = api.create(
        "subnetpool",
        name="p",
        prefixes=["10.10.0.0/16"],
        default_prefixlen=24,
        address_scope_id=scope["id"],
    )
    assert pool["min_prefixlen"] == 8 and pool["ip_version"] == 4
    net = api.network()
    first = api.create("subnet", network_id=net["id"], subnetpool_id=pool["id"], ip_version=4)
    second = api.create("subnet", network_id=net["id"], subnetpool_id=pool["id"], prefixlen=26)
    assert first["cidr"] == "10.10.0.0/24" and second["cidr"] == "10.10.1.0/26"
    assert first["subnetpool_id"] == pool["id"]
    shown = api.get(f"/v2.0/networks/{net['id']}").json()["network"]
    assert shown["ipv4_address_scope"] == scope["id"]
    resp = api.post(
        "/v2.0/subnets",
        {"subnet": {"network_id": net["id"], "subnetpool_id": pool["id"], "cidr": "10.10.0.0/25"}},
    )
    assert resp.status_code == 400
    assert api.delete(f"/v2.0/subnetpools/{pool['id']}").status_code == 409
    resp = api.put(f"/v2.0/subnetpools/{pool['id']}/add_prefixes", {"prefixes": ["10.11.0.0/16"]})
    assert resp.json()["prefixes"] == ["10.10.0.0/15"]
    default = api.create(
        "subnetpool",
        api.admin(),
        name="d",
        prefixes=["192.168.0.0/16"],
        default_prefixlen=24,
        is_default=True,
        shared=True,
    )
    other = api.headers(PROJECT_B)
    onet = api.network(other)
    got = api.create(
        "subnet", other, network_id=onet["id"], use_default_subnet_pool=True, ip_version=4
    )
    assert got["subnetpool_id"] == default["id"] and got["cidr"] == "192.168.0.0/24"
    assert api.delete(f"/v2.0/address-scopes/{scope['id']}").status_code == 409


def test_delete_subnet_in_use(api: Api) -> None:
    net = api.network()
    subnet = api.subnet(net["id"], "10.0.0.0/24")
    port = api.port(net["id"])
    resp = api.delete(f"/v2.0/subnets/{subnet['id']}")
    assert resp.status_code == 409 and error_type(resp) == "SubnetInUse"
    assert api.delete(f"/v2.0/ports/{port['id']}").status_code == 204
    assert api.delete(f"/v2.0/subnets/{subnet['id']}").status_code == 204
