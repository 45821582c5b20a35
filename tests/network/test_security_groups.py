"""Security groups: default group on first use, rules and their validation."""

from __future__ import annotations

from typing import Any

from tests.network.conftest import PROJECT_B, Api, error_type

RULES = "/v2.0/security-group-rules"


def test_default_group_created_on_first_use(api: Api) -> None:
    groups = api.get("/v2.0/security-groups").json()["security_groups"]
    assert [g["name"] for g in groups] == ["default"]
    rules = groups[0]["security_group_rules"]
    shape = sorted(
        (r["direction"], r["ethertype"], r["remote_group_id"] is not None) for r in rules
    )
    assert shape == [
        ("egress", "IPv4", False),
        ("egress", "IPv6", False),
        ("ingress", "IPv4", True),
        ("ingress", "IPv6", True),
    ]
    assert all(r["belongs_to_default_sg"] for r in rules)
    assert len(api.get("/v2.0/security-groups").json()["security_groups"]) == 1
    resp = api.delete(f"/v2.0/security-groups/{groups[0]['id']}")
    assert resp.status_code == 409 and error_type(resp) == "SecurityGroupCannotRemoveDefault"
    resp = api.put(f"/v2.0/security-groups/{groups[0]['id']}", {"security_group": {"name": "x"}})
    assert resp.status_code == 409


def test_new_group_and_rules(api: Api) -> None:
    sg = api.create("security_group", path="security-groups", name="web", description="d")
    assert sg["stateful"] is True and len(sg["security_group_rules"]) == 2
    icmp = api.create(
        "security_group_rule",
        path="security-group-rules",
        security_group_id=sg["id"],
        direction="ingress",
        protocol="icmp",
    )
    assert icmp["protocol"] == "icmp" and icmp["port_range_min"] is None
    ssh = api.create(
        "security_group_rule",
        path="security-group-rules",
        security_group_id=sg["id"],
        direction="ingress",
        protocol="tcp",
        port_range_min=22,
        port_range_max=22,
        remote_ip_prefix="10.0.0.5/24",
    )
    assert ssh["normalized_cidr"] == "10.0.0.0/24" and ssh["remote_ip_prefix"] == "10.0.0.5/24"
    dup = api.post(
        RULES,
        {
            "security_group_rule": {
                "security_group_id": sg["id"],
                "direction": "ingress",
                "protocol": "tcp",
                "port_range_min": 22,
                "port_range_max": 22,
                "remote_ip_prefix": "10.0.0.0/24",
            }
        },
    )
    assert dup.status_code == 409 and error_type(dup) == "SecurityGroupRuleExists"
    shown = api.get(f"/v2.0/security-groups/{sg['id']}").json()["security_group"]
    assert len(shown["security_group_rules"]) == 4
    listed = api.get(RULES, security_group_id=sg["id"], protocol="tcp").json()
    assert [r["id"] for r in listed["security_group_rules"]] == [ssh["id"]]
    assert api.delete(f"{RULES}/{ssh['id']}").status_code == 204
    assert api.get(f"{RULES}/{ssh['id']}").status_code == 404
    resp = api.put(f"/v2.0/security-groups/{sg['id']}", {"security_group": {"name": "www"}})
    assert resp.json()["security_group"]["name"] == "www"
    assert api.delete(f"/v2.0/security-groups/{sg['id']}").status_code == 204


def test_bad_rules(api: Api) -> None:
    sg = api.create("security_group", path="security-groups", name="g")
    base = {"security_group_id": sg["id"], "direction": "ingress"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"direction": "sideways"}, "InvalidInput"),
        ({"ethertype": "IPv5"}, "InvalidInput"),
        ({"protocol": "bogus"}, "SecurityGroupRuleInvalidProtocol"),
        (
            {"protocol": "tcp", "port_range_min": 100, "port_range_max": 10},
            "SecurityGroupInvalidPortRange",
        ),
        (
            {"protocol": "tcp", "port_range_min": 0, "port_range_max": 70000},
            "SecurityGroupInvalidPortValue",
        ),
        (
            {"protocol": "tcp", "port_range_min": -16, "port_range_max": 80},
            "SecurityGroupInvalidPortValue",
        ),
        ({"protocol": "tcp", "port_range_max": 6}, "SecurityGroupInvalidPortRange"),
        ({"port_range_min": 22, "port_range_max": 22}, "SecurityGroupProtocolRequiredWithPorts"),
        (
            {"protocol": "gre", "port_range_min": 1, "port_range_max": 2},
            "SecurityGroupInvalidProtocolForPortRange",
        ),
        ({"protocol": "icmp", "port_range_max": 3}, "SecurityGroupMissingIcmpType"),
        ({"protocol": "icmp", "port_range_min": 300}, "SecurityGroupInvalidIcmpValue"),
        ({"remote_ip_prefix": "::/0"}, "SecurityGroupRuleParameterConflict"),
        (
            {"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": sg["id"]},
            "SecurityGroupRemoteGroupAndRemoteIpPrefix",
        ),
        ({"protocol": "icmpv6"}, "SecurityGroupRuleInvalidEtherType"),
        ({"remote_ip_prefix": "not-a-cidr"}, "InvalidInput"),
    ]
    for extra, kind in cases:
        resp = api.post(RULES, {"security_group_rule": {**base, **extra}})
        assert resp.status_code == 400, (extra, resp.text)
        assert error_type(resp) == kind, extra
    missing = api.post(RULES, {"security_group_rule": {**base, "remote_group_id": "nope"}})
    assert missing.status_code == 404
    ipv6 = api.create(
        "security_group_rule",
        path="security-group-rules",
        **base,
        ethertype="IPv6",
        protocol="ipv6-icmp",
    )
    assert ipv6["protocol"] == "ipv6-icmp"
    number = api.create(
        "security_group_rule",
        path="security-group-rules",
        **base,
        protocol="6",
        port_range_min=80,
        port_range_max=81,
    )
    assert number["protocol"] == "6"


def test_groups_of_other_projects(api: Api) -> None:
    sg = api.create("security_group", path="security-groups", name="mine")
    other = api.headers(PROJECT_B)
    assert api.get(f"/v2.0/security-groups/{sg['id']}", other).status_code == 404
    resp = api.post(
        RULES,
        {"security_group_rule": {"security_group_id": sg["id"], "direction": "ingress"}},
        other,
    )
    assert resp.status_code == 404
    names = [g["name"] for g in api.get("/v2.0/security-groups", other).json()["security_groups"]]
    assert names == ["default"]
    rbac = {
        "object_type": "security_group",
        "object_id": sg["id"],
        "action": "access_as_shared",
        "target_tenant": PROJECT_B,
    }
    assert api.post("/v2.0/rbac-policies", {"rbac_policy": rbac}).status_code == 201
    assert api.get(f"/v2.0/security-groups/{sg['id']}", other).status_code == 200
    net = api.network(other)
    api.subnet(net["id"], "10.0.0.0/24", other)
    port = api.port(net["id"], other, security_groups=[sg["id"]])
    assert port["security_groups"] == [sg["id"]]
    resp = api.post(
        "/v2.0/ports",
        {"port": {"network_id": net["id"], "fixed_ips": [], "security_groups": [sg["id"]]}},
        other,
    )
    assert resp.status_code == 400


def test_reader_cannot_write(api: Api) -> None:
    reader = api.headers(role="reader")
    api.get("/v2.0/security-groups")
    assert api.get("/v2.0/security-groups", reader).status_code == 200
    resp = api.post("/v2.0/security-groups", {"security_group": {"name": "x"}}, reader)
    assert resp.status_code == 403
    assert api.post("/v2.0/networks", {"network": {"name": "x"}}, reader).status_code == 403


def test_listing_another_projects_groups_creates_its_default(api: Api) -> None:
    """Compute lists a project's groups with its service token before any port exists."""
    project = "project-never-seen"
    groups = api.get("/v2.0/security-groups", api.admin(), project_id=project).json()
    assert [(g["name"], g["project_id"]) for g in groups["security_groups"]] == [
        ("default", project)
    ]
    again = api.get("/v2.0/security-groups", api.admin(), project_id=project).json()
    assert [g["id"] for g in again["security_groups"]] == [groups["security_groups"][0]["id"]]


def test_stateless_groups(api: Api) -> None:
    stateless = api.create("security_group", path="security-groups", name="nat", stateful=False)
    assert stateless["stateful"] is False
    stateful = api.create("security_group", path="security-groups", name="web")
    net = api.network()
    api.subnet(net["id"], "10.9.0.0/24")
    # a port's groups are all stateful or all stateless
    body = {"port": {"network_id": net["id"], "security_groups": [stateful["id"], stateless["id"]]}}
    resp = api.post("/v2.0/ports", body)
    assert resp.status_code == 409 and error_type(resp) == "SecurityGroupConflict"
    assert api.get(f"/v2.0/ports?network_id={net['id']}").json()["ports"] == []
    port = api.port(net["id"], security_groups=[stateless["id"]])
    both = {"port": {"security_groups": [stateless["id"], stateful["id"]]}}
    resp = api.put(f"/v2.0/ports/{port['id']}", both)
    assert resp.status_code == 409 and error_type(resp) == "SecurityGroupConflict"
    # a group in use keeps its statefulness; an unused one may change it
    flip = {"security_group": {"stateful": True}}
    resp = api.put(f"/v2.0/security-groups/{stateless['id']}", flip)
    assert resp.status_code == 409 and error_type(resp) == "SecurityGroupInUse"
    resp = api.put(f"/v2.0/security-groups/{stateless['id']}", {"security_group": {"name": "n"}})
    assert resp.status_code == 200
    resp = api.put(
        f"/v2.0/security-groups/{stateful['id']}", {"security_group": {"stateful": False}}
    )
    assert resp.status_code == 200 and resp.json()["security_group"]["stateful"] is False
    # now both stateless: they go together
    resp = api.put(f"/v2.0/ports/{port['id']}", both)
    assert resp.status_code == 200


def test_only_one_group_is_named_default(api: Api) -> None:
    resp = api.post("/v2.0/security-groups", {"security_group": {"name": "default"}})
    assert resp.status_code == 409 and error_type(resp) == "SecurityGroupDefaultAlreadyExists"
    other = api.create("security_group", path="security-groups", name="other")
    renamed = {"security_group": {"name": "default"}}
    resp = api.put(f"/v2.0/security-groups/{other['id']}", renamed)
    assert resp.status_code == 409 and error_type(resp) == "SecurityGroupDefaultAlreadyExists"
    groups = api.get("/v2.0/security-groups?name=default").json()["security_groups"]
    assert len(groups) == 1


def test_a_router_port_does_not_hide_the_missing_default_group(api: Api) -> None:
    """A project whose first port is a network device's (a router interface made by the
    admin, as bootstrap does) still gets its default group when its groups are listed."""
    net = api.network(api.headers(PROJECT_B))
    body = {
        "port": {
            "network_id": net["id"],
            "project_id": PROJECT_B,
            "device_owner": "network:router_interface",
        }
    }
    assert api.post("/v2.0/ports", body, api.admin()).status_code == 201
    groups = api.get("/v2.0/security-groups", api.headers(PROJECT_B)).json()["security_groups"]
    assert [g["name"] for g in groups] == ["default"]
