"""FWaaS v2 through the API in-process: rules, policies (insert/remove with positions,
audited), groups (ports, statuses, the default group) and upstream's answers to bad
input. The data plane is tests/network_dataplane/test_fwaas.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.network.conftest import PROJECT_A, PROJECT_B, Api, error_type

RULES = "/v2.0/fwaas/firewall_rules"
POLICIES = "/v2.0/fwaas/firewall_policies"
GROUPS = "/v2.0/fwaas/firewall_groups"


def _rule(api: Api, headers: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
    return api.create("firewall_rule", headers, path="fwaas/firewall_rules", **body)


def _policy(api: Api, headers: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
    return api.create("firewall_policy", headers, path="fwaas/firewall_policies", **body)


def _error(resp: Any, status: int, kind: str) -> str:
    assert resp.status_code == status, resp.text
    assert error_type(resp) == kind, resp.text
    return str(resp.json()["NeutronError"]["message"])


def _router_port(api: Api, cidr: str = "10.1.0.0/24") -> str:
    net = api.network()
    subnet = api.subnet(net["id"], cidr)
    router = api.router()
    resp = api.put(
        f"/v2.0/routers/{router['id']}/add_router_interface", {"subnet_id": subnet["id"]}
    )
    return str(resp.json()["port_id"])


def test_rules_defaults_and_bad_input(api: Api) -> None:
    rule = _rule(api, protocol="TCP", destination_port="8000:8080", action="ALLOW")
    assert (rule["protocol"], rule["action"], rule["ip_version"]) == ("tcp", "allow", 4)
    assert rule["destination_port"] == "8000:8080" and rule["source_port"] is None
    assert rule["enabled"] is True and rule["shared"] is False
    assert rule["firewall_policy_id"] is None and rule["project_id"] == PROJECT_A
    bad = [
        ({"protocol": "gre"}, "HTTPBadRequest", "Invalid input for protocol"),
        ({"action": "drop"}, "HTTPBadRequest", "Invalid input for action"),
        ({"ip_version": 5}, "HTTPBadRequest", "Invalid input for ip_version"),
        ({"source_ip_address": "10.0.0.300"}, "HTTPBadRequest", "neither a valid IP"),
        ({"protocol": "tcp", "destination_port": "70000"}, "HTTPBadRequest", "Invalid port"),
        ({"protocol": "tcp", "source_port": "90:80"}, "HTTPBadRequest", "must be lower"),
        ({"protocol": "tcp", "source_port": "1:2:3"}, "HTTPBadRequest", "separated by a colon"),
        ({"destination_port": "22"}, "FirewallRuleWithPortWithoutProtocolInvalid", "requires"),
        (
            {"protocol": "icmp", "destination_port": "22"},
            "FirewallRuleInvalidICMPParameter",
            "ICMP",
        ),
        (
            {"ip_version": 6, "source_ip_address": "10.0.0.0/8"},
            "FirewallIpAddressConflict",
            "agree",
        ),
        ({"nope": 1}, "HTTPBadRequest", "Unrecognized attribute"),
    ]
    for body, kind, words in bad:
        assert words in _error(api.post(RULES, {"firewall_rule": body}), 400, kind), body
    # an update is checked against the merged rule
    resp = api.put(f"{RULES}/{rule['id']}", {"firewall_rule": {"protocol": "icmp"}})
    _error(resp, 400, "FirewallRuleInvalidICMPParameter")
    # only admins share
    resp = api.post(RULES, {"firewall_rule": {"shared": True}})
    _error(resp, 403, "PolicyNotAuthorized")
    # another project neither sees nor changes it
    other = api.headers(PROJECT_B)
    _error(api.get(f"{RULES}/{rule['id']}", other), 404, "FirewallRuleNotFound")
    assert rule["id"] not in [r["id"] for r in api.get(RULES, other).json()["firewall_rules"]]


def test_insert_and_remove_rule_positions_and_audited(api: Api) -> None:
    a, b, c, d = (_rule(api, name=n, protocol="tcp") for n in "abcd")
    policy = _policy(api, firewall_rules=[a["id"]], audited=True)
    assert policy["audited"] is True and policy["firewall_rules"] == [a["id"]]
    url = f"{POLICIES}/{policy['id']}"

    def insert(rule: dict[str, Any], **where: str) -> list[str]:
        resp = api.put(f"{url}/insert_rule", {"firewall_rule_id": rule["id"], **where})
        assert resp.status_code == 200, resp.text
        body = resp.json()  # the policy itself, not enveloped (upstream)
        assert body["id"] == policy["id"] and body["audited"] is False
        return list(body["firewall_rules"])

    assert insert(b) == [b["id"], a["id"]]  # no reference: the top
    assert insert(c, insert_after=b["id"]) == [b["id"], c["id"], a["id"]]
    # insert_before wins over insert_after
    assert insert(d, insert_before=a["id"], insert_after=b["id"]) == [
        b["id"],
        c["id"],
        d["id"],
        a["id"],
    ]
    shown = api.get(f"{RULES}/{a['id']}").json()["firewall_rule"]
    assert shown["firewall_policy_id"] == [policy["id"]]
    _error(
        api.put(f"{url}/insert_rule", {"firewall_rule_id": a["id"]}),
        409,
        "FirewallRuleAlreadyAssociated",
    )
    e = _rule(api, name="e")
    resp = api.put(f"{url}/insert_rule", {"firewall_rule_id": e["id"], "insert_after": e["id"]})
    _error(resp, 400, "FirewallRuleNotAssociatedWithPolicy")
    _error(api.put(f"{url}/insert_rule", {}), 400, "FirewallRuleInfoMissing")
    resp = api.put(f"{url}/insert_rule", {"firewall_rule_id": "not-a-uuid"})
    _error(resp, 404, "FirewallRuleNotFound")
    # a rule in a policy cannot be deleted
    _error(api.delete(f"{RULES}/{c['id']}"), 409, "FirewallRuleInUse")
    removed = api.put(f"{url}/remove_rule", {"firewall_rule_id": c["id"]}).json()
    assert removed["firewall_rules"] == [b["id"], d["id"], a["id"]]
    resp = api.put(f"{url}/remove_rule", {"firewall_rule_id": c["id"]})
    _error(resp, 400, "FirewallRuleNotAssociatedWithPolicy")
    assert api.delete(f"{RULES}/{c['id']}").status_code == 204
    # audited is cleared by a change to one of the policy's rules
    api.put(url, {"firewall_policy": {"audited": True}})
    api.put(f"{RULES}/{a['id']}", {"firewall_rule": {"destination_port": "22"}})
    assert api.get(url).json()["firewall_policy"]["audited"] is False


def test_other_projects_rules_and_sharing(api: Api) -> None:
    admin = api.admin()
    theirs = _rule(api, api.headers(PROJECT_B), protocol="udp")
    mine = _policy(api)
    # a member cannot see another project's rule; an admin gets upstream's conflict
    resp = api.put(f"{POLICIES}/{mine['id']}/insert_rule", {"firewall_rule_id": theirs["id"]})
    _error(resp, 404, "FirewallRuleNotFound")
    resp = api.put(
        f"{POLICIES}/{mine['id']}/insert_rule", {"firewall_rule_id": theirs["id"]}, admin
    )
    assert theirs["id"] in _error(resp, 409, "FirewallRuleConflict")
    resp = api.post(POLICIES, {"firewall_policy": {"firewall_rules": [theirs["id"]]}}, admin)
    _error(resp, 409, "FirewallRuleConflict")
    # a shared policy holds shared rules only
    unshared = _rule(api, api.headers(PROJECT_B), name="u")
    resp = api.post(
        POLICIES,
        {"firewall_policy": {"shared": True, "firewall_rules": [unshared["id"]]}},
        admin,
    )
    _error(resp, 404, "FirewallRuleSharingConflict")
    policy = _policy(api, api.headers(PROJECT_B), firewall_rules=[unshared["id"]])
    resp = api.put(f"{POLICIES}/{policy['id']}", {"firewall_policy": {"shared": True}}, admin)
    _error(resp, 409, "FirewallPolicySharingConflict")
    # a shared rule of another project is fine (and visible)
    api.put(f"{RULES}/{theirs['id']}", {"firewall_rule": {"shared": True}}, admin)
    resp = api.put(f"{POLICIES}/{mine['id']}/insert_rule", {"firewall_rule_id": theirs["id"]})
    assert resp.json()["firewall_rules"] == [theirs["id"]]
    # the rule is now in another project's policy: it stays shared
    resp = api.put(f"{RULES}/{theirs['id']}", {"firewall_rule": {"shared": False}}, admin)
    assert resp.status_code == 409


def test_default_group_and_reserved_names(api: Api) -> None:
    groups = api.get(GROUPS).json()["firewall_groups"]
    assert [g["name"] for g in groups] == ["default"]
    default = groups[0]
    assert default["status"] == "INACTIVE" and default["ports"] == []
    policies = {p["name"]: p for p in api.get(POLICIES).json()["firewall_policies"]}
    assert set(policies) == {"default ingress", "default egress"}
    assert default["ingress_firewall_policy_id"] == policies["default ingress"]["id"]
    rules = {r["name"]: r for r in api.get(RULES).json()["firewall_rules"]}
    assert rules["default ingress ipv4"]["action"] == "deny"
    assert rules["default egress ipv6"]["action"] == "allow"
    assert rules["default egress ipv6"]["ip_version"] == 6
    assert len(api.get(GROUPS).json()["firewall_groups"]) == 1  # made once
    resp = api.post(GROUPS, {"firewall_group": {"name": "default"}})
    _error(resp, 409, "FirewallDefaultParameterExists")
    resp = api.post(POLICIES, {"firewall_policy": {"name": "default ingress"}})
    _error(resp, 409, "FirewallDefaultParameterExists")
    resp = api.put(f"{GROUPS}/{default['id']}", {"firewall_group": {"name": "x"}})
    _error(resp, 409, "FirewallDefaultObjectUpdateRestricted")
    resp = api.put(f"{POLICIES}/{default['ingress_firewall_policy_id']}", {"firewall_policy": {}})
    _error(resp, 409, "FirewallDefaultObjectUpdateRestricted")
    _error(api.delete(f"{GROUPS}/{default['id']}"), 409, "FirewallGroupCannotRemoveDefault")
    assert api.delete(f"{GROUPS}/{default['id']}", api.admin()).status_code == 204
    assert api.get(f"{POLICIES}/{default['egress_firewall_policy_id']}").status_code == 404
    rule = api.get(f"{RULES}/{rules['default egress ipv6']['id']}").json()["firewall_rule"]
    assert rule["firewall_policy_id"] is None


def test_groups_ports_and_statuses(api: Api) -> None:
    port = _router_port(api)
    policy = _policy(api, firewall_rules=[_rule(api, action="allow")["id"]])
    group = api.create(
        "firewall_group",
        path="fwaas/firewall_groups",
        name="g",
        ingress_firewall_policy_id=policy["id"],
    )
    assert group["status"] == "INACTIVE" and group["admin_state_up"] is True
    url = f"{GROUPS}/{group['id']}"
    updated = api.put(url, {"firewall_group": {"ports": [port]}}).json()["firewall_group"]
    assert updated["ports"] == [port]
    # no L3 agent here: the group waits for one, and refuses changes meanwhile (upstream)
    assert updated["status"] == "PENDING_UPDATE"
    resp = api.put(url, {"firewall_group": {"description": "x"}})
    _error(resp, 409, "FirewallGroupInPendingState")
    resp = api.put(f"{POLICIES}/{policy['id']}", {"firewall_policy": {"description": "x"}})
    _error(resp, 409, "FirewallGroupInPendingState")
    api.services.firewall_groups.set_statuses({group["id"]: "ACTIVE"})
    assert api.get(url).json()["firewall_group"]["status"] == "ACTIVE"
    assert api.get(GROUPS, ports=port).json()["firewall_groups"][0]["id"] == group["id"]
    # a port is in one group at most; only router interfaces; only the group's project
    resp = api.post(GROUPS, {"firewall_group": {"ports": [port]}})
    assert port in _error(resp, 409, "FirewallGroupPortInUse")
    net = api.network()
    api.subnet(net["id"], "10.2.0.0/24")
    plain = api.port(net["id"])["id"]
    _error(
        api.post(GROUPS, {"firewall_group": {"ports": [plain]}}), 409, "FirewallGroupPortInvalid"
    )
    vm = api.port(net["id"], device_owner="compute:nova")["id"]
    resp = api.post(GROUPS, {"firewall_group": {"ports": [vm]}})
    _error(resp, 409, "FirewallGroupPortNotSupported")
    resp = api.post(GROUPS, {"firewall_group": {"ports": [port]}}, api.headers(PROJECT_B))
    _error(resp, 404, "PortNotFound")
    resp = api.post(
        GROUPS,
        {"firewall_group": {"project_id": PROJECT_B, "ports": [port]}},
        api.admin(),
    )
    _error(resp, 409, "FirewallGroupPortInvalidProject")
    # another project's unshared policy
    theirs = _policy(api, api.headers(PROJECT_B))
    resp = api.post(
        GROUPS,
        {"firewall_group": {"project_id": PROJECT_A, "egress_firewall_policy_id": theirs["id"]}},
        api.admin(),
    )
    _error(resp, 404, "FirewallPolicyConflict")
    resp = api.post(GROUPS, {"firewall_group": {"ports": ["nope"]}})
    assert "'nope' is not a valid UUID" in _error(resp, 400, "HTTPBadRequest")
    resp = api.post(POLICIES, {"firewall_policy": {"firewall_rules": ["nope"]}})
    _error(resp, 400, "HTTPBadRequest")
    resp = api.post(GROUPS, {"firewall_group": {"ports": [port, port]}})
    assert f"Duplicate items in the list: '{port}'" in _error(resp, 400, "HTTPBadRequest")
    twice = policy["firewall_rules"] * 2
    resp = api.post(POLICIES, {"firewall_policy": {"firewall_rules": twice}})
    assert "Invalid input for firewall_rules" in _error(resp, 400, "HTTPBadRequest")
    # in use: a group with ports, a policy in a group
    _error(api.delete(url), 409, "FirewallGroupInUse")
    _error(api.delete(f"{POLICIES}/{policy['id']}"), 409, "FirewallPolicyInUse")
    done = api.put(url, {"firewall_group": {"ports": []}}).json()["firewall_group"]
    assert done["status"] == "INACTIVE"
    assert api.delete(url).status_code == 204
    assert api.delete(f"{POLICIES}/{policy['id']}").status_code == 204
    # the policy's rules are free again
    rule_url = f"{RULES}/{policy['firewall_rules'][0]}"
    assert api.get(rule_url).json()["firewall_rule"]["firewall_policy_id"] is None
    assert api.delete(rule_url).status_code == 204


@pytest.mark.parametrize("path", [RULES, POLICIES, GROUPS])
def test_malformed_bodies(api: Api, path: str) -> None:
    kind = path.rsplit("/", 1)[-1]
    singular = {"firewall_rules": "firewall_rule", "firewall_policies": "firewall_policy"}.get(
        kind, "firewall_group"
    )
    bodies: list[Any] = [[], {"x": {}}, {singular: []}, {singular: {"name": ["x"]}}]
    for body in bodies:
        resp = api.post(path, body)
        assert resp.status_code == 400, (body, resp.text)
        assert "NeutronError" in resp.json()
