"""Bad input is a 4xx with a NeutronError body, never a 500.

Every attribute of every request model gets values of the wrong type; every
create and update route gets malformed bodies.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from tests.network.conftest import Api
from tinystack.network.api import schemas

WRONG = [5, "x", [1], {"a": 1}, None, True, -1, "", "10.0.0.0/8", [{"a": "b"}], 2**70]

MODELS: list[tuple[str, str, type[BaseModel]]] = [
    ("networks", "network", schemas.NetworkCreate),
    ("subnets", "subnet", schemas.SubnetCreate),
    ("ports", "port", schemas.PortCreate),
    ("routers", "router", schemas.RouterCreate),
    ("floatingips", "floatingip", schemas.FloatingIPCreate),
    ("security-groups", "security_group", schemas.SecurityGroupCreate),
    ("security-group-rules", "security_group_rule", schemas.RuleCreate),
    ("subnetpools", "subnetpool", schemas.SubnetPoolCreate),
    ("address-scopes", "address_scope", schemas.AddressScopeCreate),
    ("rbac-policies", "rbac_policy", schemas.RbacCreate),
    ("fwaas/firewall_rules", "firewall_rule", schemas.FirewallRuleCreate),
    ("fwaas/firewall_policies", "firewall_policy", schemas.FirewallPolicyCreate),
    ("fwaas/firewall_groups", "firewall_group", schemas.FirewallGroupCreate),
    ("segments", "segment", schemas.SegmentCreate),
]


def _fields(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _base(api: Api, ids: dict[str, str], kind: str) -> dict[str, Any]:
    """A valid body, so that one bad attribute is the only problem."""
    bodies: dict[str, dict[str, Any]] = {
        "network": {"name": "n"},
        "subnet": {"network_id": ids["net"], "cidr": "10.9.0.0/24", "ip_version": 4},
        "port": {"network_id": ids["net"]},
        "router": {"name": "r"},
        "floatingip": {"floating_network_id": ids["public"]},
        "security_group": {"name": "g"},
        "security_group_rule": {"security_group_id": ids["sg"], "direction": "ingress"},
        "subnetpool": {"prefixes": ["10.80.0.0/16"]},
        "address_scope": {"ip_version": 4},
        "rbac_policy": {"object_type": "network", "object_id": ids["net"],
                        "action": "access_as_shared", "target_tenant": "x"},
        "firewall_rule": {"protocol": "tcp"},
        "firewall_policy": {"name": "p"},
        "firewall_group": {"name": "g"},
        "segment": {"network_id": ids["net"], "network_type": "vxlan"},
    }  # fmt: skip
    return bodies[kind]


@pytest.fixture
def ids(api: Api) -> dict[str, str]:
    public, _ = api.external_network()
    net = api.network()
    api.subnet(net["id"], "10.0.0.0/24")
    sg = api.create("security_group", path="security-groups", name="s")
    return {"net": net["id"], "public": public["id"], "sg": sg["id"]}


def test_wrong_types_never_500(api: Api, ids: dict[str, str]) -> None:
    admin = api.admin()
    for path, kind, model in MODELS:
        for field in _fields(model):
            for value in WRONG:
                body = {**_base(api, ids, kind), field: value}
                resp = api.post(f"/v2.0/{path}", {kind: body}, admin)
                assert resp.status_code < 500, (path, field, value, resp.text)
                if resp.status_code >= 400:
                    assert set(resp.json()["NeutronError"]) == {"type", "message", "detail"}
                elif kind in ("network", "router", "security_group", "subnetpool"):
                    created = resp.json()[kind]["id"]
                    api.delete(f"/v2.0/{path}/{created}", admin)


def test_malformed_bodies_never_500(api: Api, ids: dict[str, str]) -> None:
    admin = api.admin()
    bodies: list[Any] = [None, [], "x", 5, {}, {"bogus": {}}, {"network": None}, {"ports": {}}]
    targets = [f"/v2.0/{path}" for path, _, _ in MODELS]
    targets += [f"/v2.0/networks/{ids['net']}", f"/v2.0/security-groups/{ids['sg']}"]
    for target in targets:
        for body in bodies:
            for method in ("POST", "PUT"):
                resp = api.client.request(method, target, json=body, headers=admin)
                assert resp.status_code < 500, (method, target, body, resp.text)
    router = api.router()
    for action in ("add_router_interface", "remove_router_interface", "add_extraroutes"):
        for body in bodies + [{"subnet_id": 5}, {"port_id": "nope"}, {"router": {"routes": 5}}]:
            resp = api.put(f"/v2.0/routers/{router['id']}/{action}", body)
            assert 400 <= resp.status_code < 500, (action, body, resp.text)
    for query in ("limit=-1", "marker=nope&limit=1", "sort_key=name&sort_dir=up", "fields=",
                  "page_reverse=maybe", "tags=", "admin_state_up=", "mtu=abc"):  # fmt: skip
        resp = api.client.get(f"/v2.0/networks?{query}", headers=admin)
        assert resp.status_code < 500, (query, resp.text)
