"""The compute API's network proxies (2.1-2.35) against a real network service, and the
``dns_name`` compute gives the ports of its instances (``dns-integration``)."""

from __future__ import annotations

import httpx
import pytest

from tests.compute.conftest import SERVICES, Api, Env, MakeEnv


@pytest.fixture(scope="module")
def net_env(make_env: MakeEnv) -> Env:
    # a domain other than the default: the network service keeps ports' dns_name
    return make_env("[network]\ndns_domain = example.org.\n", [*SERVICES, "network"])


def test_instance_ports_are_named_after_the_hostname(net_env: Env) -> None:
    network = Api(net_env.cloud.endpoint("network"), net_env.demo_token, None)
    private = network.get("/v2.0/networks?name=private").json()["networks"][0]["id"]
    own = network.post("/v2.0/ports", {"port": {"network_id": private}}, 201).json()["port"]
    assert own["dns_name"] == ""
    server = net_env.boot(
        net_env.demo, name="Web Server_1", networks=[{"uuid": private}, {"port": own["id"]}]
    )
    ports = network.get(f"/v2.0/ports?device_id={server['id']}").json()["ports"]
    assert len(ports) == 2
    assert {p["dns_name"] for p in ports} == {"web-server-1"}
    assert all(p["dns_assignment"][0]["hostname"] == "web-server-1" for p in ports)
    net_env.demo.delete(f"/servers/{server['id']}", 204)
    net_env.wait(server["id"], "DELETED", api=net_env.demo)
    # the port the user brought is given back without the instance's name
    assert network.get(f"/v2.0/ports/{own['id']}").json()["port"]["dns_name"] == ""
    network.delete(f"/v2.0/ports/{own['id']}", 204)


def test_security_groups_through_compute(net_env: Env) -> None:
    demo = net_env.demo.at("2.1")
    made = demo.post(
        "/os-security-groups",
        {"security_group": {"name": "web", "description": "http"}},
        200,
    ).json()["security_group"]
    assert made["name"] == "web" and made["description"] == "http" and made["tenant_id"]
    assert made["rules"] == []  # the new group's egress rules are not Nova's business
    gid = made["id"]
    listed = demo.get("/os-security-groups").json()["security_groups"]
    assert {"default", "web"} <= {g["name"] for g in listed}
    renamed = demo.put(f"/os-security-groups/{gid}", {"security_group": {"name": "www"}}, 200)
    assert renamed.json()["security_group"]["name"] == "www"
    rule = {"parent_group_id": gid, "ip_protocol": "tcp", "from_port": 80, "to_port": 80}
    created = demo.post(
        "/os-security-group-rules", {"security_group_rule": {**rule, "cidr": "10.1.2.3/8"}}, 200
    ).json()["security_group_rule"]
    assert created["ip_range"] == {"cidr": "10.1.2.3/8"} and created["group"] == {}
    assert (created["from_port"], created["to_port"], created["ip_protocol"]) == (80, 80, "tcp")
    dup = demo.post(
        "/os-security-group-rules", {"security_group_rule": {**rule, "cidr": "10.0.0.0/8"}}
    )
    assert dup.status_code == 400
    default = next(g for g in listed if g["name"] == "default")
    by_group = demo.post(
        "/os-security-group-rules",
        {
            "security_group_rule": {
                **rule,
                "from_port": 22,
                "to_port": 22,
                "group_id": default["id"],
            }
        },
        200,
    ).json()["security_group_rule"]
    assert by_group["group"]["name"] == "default" and by_group["ip_range"] == {}
    icmp = demo.post(
        "/os-security-group-rules",
        {
            "security_group_rule": {
                "parent_group_id": gid,
                "ip_protocol": "icmp",
                "from_port": -1,
                "to_port": -1,
            }
        },  # fmt: skip
        200,
    ).json()["security_group_rule"]
    assert (icmp["from_port"], icmp["to_port"]) == (-1, -1)
    shown = demo.get(f"/os-security-groups/{gid}").json()["security_group"]
    assert {r["id"] for r in shown["rules"]} == {created["id"], by_group["id"], icmp["id"]}
    # bad input is 400, unknown groups 404, and nothing is left half made
    for bad in (
        {**rule, "from_port": 90, "to_port": 80},
        {**rule, "from_port": -16},
        {**rule, "ip_protocol": "bogus"},
        {**rule, "from_port": "abc"},
    ):
        assert (
            demo.post("/os-security-group-rules", {"security_group_rule": bad}).status_code == 400
        )
    not_uuid = {**rule, "parent_group_id": "not-a-uuid"}
    assert (
        demo.post("/os-security-group-rules", {"security_group_rule": not_uuid}).status_code == 400
    )
    missing = {**rule, "parent_group_id": "6fa2f5a4-9bcd-4e3c-8a5d-0f61f8f2a8c1"}
    assert (
        demo.post("/os-security-group-rules", {"security_group_rule": missing}).status_code == 404
    )
    assert len(demo.get(f"/os-security-groups/{gid}").json()["security_group"]["rules"]) == 3
    empty = demo.post("/os-security-groups", {"security_group": {"name": " ", "description": ""}})
    assert empty.status_code == 400
    for bad_body in ({"name": "", "description": ""}, {"name": "x"}, {"name": "x", "bogus": 1}):
        resp = demo.post("/os-security-groups", {"security_group": bad_body})
        assert resp.status_code == 400, (bad_body, resp.text)
    demo.delete(f"/os-security-group-rules/{created['id']}", 202)
    demo.delete(f"/os-security-group-rules/{created['id']}", 404)
    assert demo.delete(f"/os-security-groups/{default['id']}").status_code == 400
    demo.delete(f"/os-security-groups/{gid}", 202)
    demo.get(f"/os-security-groups/{gid}", 404)
    demo.delete("/os-security-groups/", 404)
    # gone from 2.36 on
    net_env.demo.at("2.36").get("/os-security-groups", 404)


def test_floating_ips_and_networks_through_compute(net_env: Env) -> None:
    demo = net_env.demo.at("2.1")
    assert demo.get("/os-floating-ip-pools").json() == {"floating_ip_pools": [{"name": "public"}]}
    fip = demo.post("/os-floating-ips", None, 200).json()["floating_ip"]
    assert fip["pool"] == "public" and fip["instance_id"] is None and fip["fixed_ip"] is None
    assert fip["id"] in {f["id"] for f in demo.get("/os-floating-ips").json()["floating_ips"]}
    nets = {n["label"]: n for n in demo.get("/os-tenant-networks").json()["networks"]}
    server = net_env.boot(demo, networks=[{"uuid": nets["private"]["id"]}])
    groups = demo.get(f"/servers/{server['id']}/os-security-groups").json()["security_groups"]
    assert [g["name"] for g in groups] == ["default"]
    action = f"/servers/{server['id']}/action"
    demo.post(action, {"addFloatingIp": {"address": fip["ip"]}}, 202)
    bound = demo.get(f"/os-floating-ips/{fip['id']}").json()["floating_ip"]
    assert bound["instance_id"] == server["id"] and bound["fixed_ip"]
    assert demo.post(action, {"addFloatingIp": {"address": fip["ip"]}}).status_code == 400
    assert demo.post(action, {"addFloatingIp": {"address": "192.0.2.99"}}).status_code == 404
    demo.post(action, {"removeFloatingIp": {"address": fip["ip"]}}, 202)
    assert demo.get(f"/os-floating-ips/{fip['id']}").json()["floating_ip"]["instance_id"] is None
    assert demo.post(action, {"removeFloatingIp": {"address": fip["ip"]}}).status_code == 409
    net_env.demo.at("2.44").post(action, {"addFloatingIp": {"address": fip["ip"]}}, 404)
    demo.delete(f"/os-floating-ips/{fip['id']}", 202)
    demo.get(f"/os-floating-ips/{fip['id']}", 404)
    assert demo.post("/os-floating-ips", {"pool": "nope"}).status_code == 404
    demo.delete(f"/servers/{server['id']}", 204)
    # networks, as Nova's old proxy shows them
    assert nets["private"]["cidr"]
    shown = demo.get(f"/os-tenant-networks/{nets['private']['id']}").json()["network"]
    assert shown == nets["private"]
    admin = net_env.compute.at("2.1")
    assert "public" in {n["label"] for n in admin.get("/os-networks").json()["networks"]}
    net_env.demo.at("2.36").get("/os-tenant-networks", 404)


def test_networks_auto_without_a_topology_to_make_is_a_400(net_env: Env) -> None:
    """2.37 ``networks: auto`` for a project with no network of its own and a cloud with
    no default subnet pool: upstream's 400 at the API (the network service's dry run
    says 409), not an ACTIVE server without networking. Before 2.37 no networks given
    still boots without one."""
    cloud = net_env.cloud
    # a member of a project of its own (an admin's token lists every project's networks)
    project = cloud.osc("project", "create", "lonely")["id"]
    cloud.osc("user", "create", "--project", "lonely", "--password", "lonely-pw-1", "lonely")
    cloud.osc("role", "add", "--project", "lonely", "--user", "lonely", "member")
    auth = {"identity": {"methods": ["password"], "password": {"user": {
        "name": "lonely", "domain": {"id": "default"}, "password": "lonely-pw-1"}}},
        "scope": {"project": {"id": project}}}  # fmt: skip
    issued = httpx.post(f"{cloud.auth_url}/auth/tokens", json={"auth": auth}, timeout=30)
    assert issued.status_code == 201, issued.text
    member = Api(net_env.compute.base, issued.headers["X-Subject-Token"], "2.37")
    body = {"name": "auto", "flavorRef": "1", "imageRef": net_env.image, "networks": "auto"}
    refused = member.post("/servers", {"server": body})
    assert refused.status_code == 400, refused.text
    assert refused.json()["badRequest"]["message"] == (
        f"Unable to automatically allocate a network for project {project}"
    )
    old = net_env.compute.at("2.1")
    body = {"name": "none-given", "flavorRef": "1", "imageRef": net_env.image}
    sid = old.post("/servers", {"server": body}, 202).json()["server"]["id"]
    server = net_env.wait(sid, "ACTIVE", "ERROR")
    assert server["status"] == "ACTIVE" and server["addresses"] == {}, server
    old.delete(f"/servers/{sid}", 204)
