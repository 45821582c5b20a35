"""QoS rule types: every user lists them, only admins read a type's drivers."""

from __future__ import annotations

from tests.network.conftest import PROJECT_B, Api


def test_rule_types_listed_to_users_details_to_admins(api: Api) -> None:
    listed = api.get("/v2.0/qos/rule-types")
    assert listed.status_code == 200, listed.text
    types = {t["type"] for t in listed.json()["rule_types"]}
    assert "bandwidth_limit" in types
    assert all(list(t) == ["type"] for t in listed.json()["rule_types"])
    assert api.get("/v2.0/qos/rule-types/bandwidth_limit").status_code == 403
    shown = api.get("/v2.0/qos/rule-types/bandwidth_limit", api.admin())
    assert shown.status_code == 200 and shown.json()["rule_type"]["drivers"]


def test_rule_create_refused_before_the_policy_is_looked_up(api: Api) -> None:
    theirs = api.create("policy", api.admin(), path="qos/policies", name="b", project_id=PROJECT_B)
    body = {"bandwidth_limit_rule": {"max_kbps": 1}}
    # a member may not create rules at all: 403, not the 404 of a policy it cannot see
    for policy_id in (theirs["id"], "no-such-policy"):
        resp = api.post(f"/v2.0/qos/policies/{policy_id}/bandwidth_limit_rules", body)
        assert resp.status_code == 403, resp.text
    resp = api.post("/v2.0/qos/policies/no-such-policy/bandwidth_limit_rules", body, api.admin())
    assert resp.status_code == 404


def test_a_policy_in_use_stays_shared(api: Api) -> None:
    admin = api.admin()
    qos = api.create("policy", admin, path="qos/policies", name="s", shared=True)
    net = api.network(admin, qos_policy_id=qos["id"])
    path = f"/v2.0/qos/policies/{qos['id']}"
    # the owner's own network counts too
    resp = api.put(path, {"policy": {"shared": False}}, admin)
    assert resp.status_code == 409 and resp.json()["NeutronError"]["type"] == "QosPolicyInUse"
    assert api.delete(f"/v2.0/networks/{net['id']}", admin).status_code == 204
    resp = api.put(path, {"policy": {"shared": False}}, admin)
    assert resp.status_code == 200 and resp.json()["policy"]["shared"] is False
