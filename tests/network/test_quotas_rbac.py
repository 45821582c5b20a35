"""Quotas (enforced per resource) and RBAC policies (sharing, external access)."""

from __future__ import annotations

from tests.network.conftest import PROJECT_A, PROJECT_B, Api, error_type


def test_quotas(api: Api) -> None:
    admin = api.admin()
    default = api.get(f"/v2.0/quotas/{PROJECT_A}", admin).json()["quota"]
    assert default["network"] == 100 and default["port"] == 500 and default["router"] == 10
    resp = api.put(f"/v2.0/quotas/{PROJECT_A}", {"quota": {"network": 2, "port": 1}}, admin)
    assert resp.status_code == 200 and resp.json()["quota"]["network"] == 2
    assert api.put(f"/v2.0/quotas/{PROJECT_A}", {"quota": {"network": 2}}).status_code == 403
    net = api.network()
    api.network()
    resp = api.post("/v2.0/networks", {"network": {"name": "third"}})
    assert resp.status_code == 409 and error_type(resp) == "OverQuota"
    assert "network" in resp.json()["NeutronError"]["message"]
    api.subnet(net["id"], "10.0.0.0/24")
    api.port(net["id"])
    assert error_type(api.post("/v2.0/ports", {"port": {"network_id": net["id"]}})) == "OverQuota"
    details = api.get(f"/v2.0/quotas/{PROJECT_A}/details", admin).json()["quota"]
    assert details["network"] == {"limit": 2, "used": 2, "reserved": 0}
    # a member reads their own project's quotas (neutron checks get_quota for others only)
    own = api.get(f"/v2.0/quotas/{PROJECT_A}/details").json()["quota"]
    assert own["network"] == details["network"]
    assert api.get(f"/v2.0/quotas/{PROJECT_A}").json()["quota"]["network"] == 2
    assert api.get(f"/v2.0/quotas/{PROJECT_B}").status_code == 403
    assert details["port"]["used"] == 1
    listed = api.get("/v2.0/quotas", admin).json()["quotas"]
    assert [q["project_id"] for q in listed] == [PROJECT_A]
    assert api.get("/v2.0/quotas", api.headers()).status_code == 403
    assert api.get(f"/v2.0/quotas/{PROJECT_A}/default", admin).json()["quota"]["network"] == 100
    bad = api.put(f"/v2.0/quotas/{PROJECT_A}", {"quota": {"network": "lots"}}, admin)
    assert bad.status_code == 400
    assert api.put(f"/v2.0/quotas/{PROJECT_A}", {"quota": {"bogus": 1}}, admin).status_code == 400
    assert api.delete(f"/v2.0/quotas/{PROJECT_A}", admin).status_code == 204
    assert api.get(f"/v2.0/quotas/{PROJECT_A}", admin).json()["quota"]["network"] == 100
    assert api.get("/v2.0/quotas/tenant").json() == {"tenant": {"tenant_id": PROJECT_A}}


def test_member_reads_own_quota_only(api: Api) -> None:
    """Neutron checks get_quota only for another project: a member reads their own project's
    quota, details and defaults (Horizon's create buttons and limits), not another's."""
    member = api.headers()
    for suffix in ("", "/details", "/default"):
        own = api.get(f"/v2.0/quotas/{PROJECT_A}{suffix}", member)
        assert own.status_code == 200, own.text
        assert "network" in own.json()["quota"]
        other = api.get(f"/v2.0/quotas/{PROJECT_B}{suffix}", member)
        assert other.status_code == 403 and "(get_quota)" in other.text


def test_rbac_share_with_one_project(api: Api) -> None:
    net = api.network()
    api.subnet(net["id"], "10.0.0.0/24")
    other = api.headers(PROJECT_B)
    third = api.headers("project-c")
    body = {
        "object_type": "network",
        "object_id": net["id"],
        "action": "access_as_shared",
        "target_tenant": PROJECT_B,
    }
    resp = api.post("/v2.0/rbac-policies", {"rbac_policy": body})
    assert resp.status_code == 201, resp.text
    policy = resp.json()["rbac_policy"]
    assert policy["target_tenant"] == PROJECT_B and policy["project_id"] == PROJECT_A
    assert api.post("/v2.0/rbac-policies", {"rbac_policy": body}).status_code == 409
    seen = api.get(f"/v2.0/networks/{net['id']}", other).json()["network"]
    assert seen["shared"] is True
    assert api.get(f"/v2.0/networks/{net['id']}", third).status_code == 404
    port = api.port(net["id"], other)
    resp = api.delete(f"/v2.0/rbac-policies/{policy['id']}")
    assert resp.status_code == 409 and error_type(resp) == "RbacPolicyInUse"
    assert api.get(f"/v2.0/rbac-policies/{policy['id']}", other).status_code == 404
    assert api.delete(f"/v2.0/ports/{port['id']}", other).status_code == 204
    assert api.delete(f"/v2.0/rbac-policies/{policy['id']}").status_code == 204
    assert api.get(f"/v2.0/networks/{net['id']}", other).status_code == 404
    foreign = {**body, "object_id": api.network(other)["id"]}
    assert api.post("/v2.0/rbac-policies", {"rbac_policy": foreign}).status_code == 404
    bad = {**body, "action": "access_as_nothing"}
    assert api.post("/v2.0/rbac-policies", {"rbac_policy": bad}).status_code == 400


def test_rbac_external(api: Api) -> None:
    admin = api.admin()
    net = api.network(admin, name="ext")
    body = {
        "object_type": "network",
        "object_id": net["id"],
        "action": "access_as_external",
        "target_tenant": PROJECT_B,
    }
    assert api.post("/v2.0/rbac-policies", {"rbac_policy": body}, admin).status_code == 201
    seen = api.get(f"/v2.0/networks/{net['id']}", api.headers(PROJECT_B)).json()["network"]
    assert seen["router:external"] is True
    assert api.get(f"/v2.0/networks/{net['id']}").status_code == 404
    listed = api.get("/v2.0/rbac-policies", admin, object_id=net["id"]).json()["rbac_policies"]
    assert [p["action"] for p in listed] == ["access_as_external"]


def test_rbac_shares_a_qos_policy(api: Api) -> None:
    qos = api.create("policy", api.admin(), path="qos/policies", name="gold", project_id=PROJECT_A)
    other = api.headers(PROJECT_B)
    assert api.get(f"/v2.0/qos/policies/{qos['id']}", other).status_code == 404
    body = {
        "object_type": "qos_policy",
        "object_id": qos["id"],
        "action": "access_as_shared",
        "target_tenant": PROJECT_B,
    }
    resp = api.post("/v2.0/rbac-policies", {"rbac_policy": body}, api.admin())
    assert resp.status_code == 201, resp.text
    rbac = resp.json()["rbac_policy"]
    assert api.get(f"/v2.0/qos/policies/{qos['id']}", other).json()["policy"]["name"] == "gold"
    wildcard = api.post(
        "/v2.0/rbac-policies", {"rbac_policy": {**body, "target_tenant": "*"}}, api.admin()
    ).json()["rbac_policy"]
    net = api.network(other, qos_policy_id=qos["id"])
    # shared with project B, still not B's to share on (400, not the 404 of the unseen)
    onward = {**body, "target_tenant": "project-c"}
    assert api.post("/v2.0/rbac-policies", {"rbac_policy": onward}, other).status_code == 400
    # project B keeps its own grant: the wildcard may go
    assert api.delete(f"/v2.0/rbac-policies/{wildcard['id']}", api.admin()).status_code == 204
    # project B's network uses the policy: the grant it rests on stays
    resp = api.delete(f"/v2.0/rbac-policies/{rbac['id']}", api.admin())
    assert resp.status_code == 409 and error_type(resp) == "RbacPolicyInUse"
    assert api.delete(f"/v2.0/networks/{net['id']}", other).status_code == 204
    assert api.delete(f"/v2.0/rbac-policies/{rbac['id']}", api.admin()).status_code == 204
    assert api.get(f"/v2.0/qos/policies/{qos['id']}", other).status_code == 404
    bad = {**body, "action": "access_as_external"}
    assert api.post("/v2.0/rbac-policies", {"rbac_policy": bad}, api.admin()).status_code == 400
