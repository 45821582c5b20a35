"""Route-walking checks: every route needs a token, and other projects' resources are 404.

Also checks that every route's policy rules are registered, that no route is an
unreachable duplicate, and the small read-only resources (extensions,
availability zones, agents, IP availability).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import APIRoute

from tests import routecheck
from tests.network.conftest import PROJECT_A, PROJECT_B, Api
from tests.routecheck import RouteRules
from tinystack.network import policies
from tinystack.network.api.extensions import EXTENSIONS
from tinystack.network.payloads import AgentState
from tinystack.network.services.authz import internal_context

PUBLIC = {("GET", "/")}


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """APIRoutes, looking into included routers (newer FastAPI includes them lazily)."""
    out: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append(route)
        elif hasattr(route, "original_router"):
            out += _api_routes(route.original_router.routes)
    return out


def _routes(api: Api) -> list[tuple[str, str]]:
    app: Any = api.client.app
    out: list[tuple[str, str]] = []
    for route in _api_routes(app.routes):
        out.extend((method, route.path) for method in sorted(route.methods or ()))
    return out


def test_every_route_needs_a_token(api: Api) -> None:
    routes = _routes(api)
    assert len(routes) > 60
    assert len(routes) == len(set(routes)), "duplicate route"
    for method, path in routes:
        url = re.sub(r"\{[^}]+\}", "x", path)
        resp = api.client.request(method, url, json={})
        expected = 200 if (method, path) in PUBLIC else 401
        assert resp.status_code == expected, (method, path, resp.text)
        assert "NeutronError" in resp.json() or expected == 200


def _resources(api: Api) -> dict[str, str]:
    """One resource of every kind owned by project A; path parameter -> id."""
    public, _ = api.external_network()
    net = api.network()
    subnet = api.subnet(net["id"], "10.0.0.0/24")
    port = api.port(net["id"])
    router = api.router(external_gateway_info={"network_id": public["id"]})
    api.put(f"/v2.0/routers/{router['id']}/add_router_interface", {"subnet_id": subnet["id"]})
    fip = api.create("floatingip", floating_network_id=public["id"])
    sg = api.create("security_group", path="security-groups", name="g")
    rule = sg["security_group_rules"][0]
    pool = api.create("subnetpool", prefixes=["10.50.0.0/16"], default_prefixlen=24)
    scope = api.create("address_scope", path="address-scopes", ip_version=4)
    rbac = api.create(
        "rbac_policy",
        path="rbac-policies",
        object_type="network",
        object_id=net["id"],
        action="access_as_shared",
        target_tenant="project-c",
    )
    qos = api.create("policy", api.admin(), "qos/policies", name="q", project_id=PROJECT_A)
    fw_rule = api.create("firewall_rule", path="fwaas/firewall_rules", protocol="tcp")
    fw_policy = api.create(
        "firewall_policy", path="fwaas/firewall_policies", firewall_rules=[fw_rule["id"]]
    )
    fw_group = api.create(
        "firewall_group", path="fwaas/firewall_groups", ingress_firewall_policy_id=fw_policy["id"]
    )
    segments = api.get("/v2.0/segments", api.admin(), network_id=net["id"]).json()["segments"]
    return {
        "segment_id": segments[0]["id"],
        "firewall_rule_id": fw_rule["id"],
        "firewall_policy_id": fw_policy["id"],
        "firewall_group_id": fw_group["id"],
        "qos_policy_id": qos["id"],
        "network_id": net["id"],
        "subnet_id": subnet["id"],
        "port_id": port["id"],
        "router_id": router["id"],
        "fip_id": fip["id"],
        "group_id": sg["id"],
        "rule_id": rule["id"],
        "pool_id": pool["id"],
        "scope_id": scope["id"],
        "policy_id": rbac["id"],
    }


SINGULAR = {
    "networks": "network",
    "subnets": "subnet",
    "ports": "port",
    "routers": "router",
    "floatingips": "floatingip",
    "security-groups": "security_group",
    "security-group-rules": "security_group_rule",
    "subnetpools": "subnetpool",
    "address-scopes": "address_scope",
    "rbac-policies": "rbac_policy",
    "qos": "policy",
    "segments": "segment",
}


FWAAS = {
    "firewall_rules": "firewall_rule",
    "firewall_policies": "firewall_policy",
    "firewall_groups": "firewall_group",
}


def _body(path: str, ids: dict[str, str]) -> Any:
    """A valid body for the route, so that only the resource's visibility can fail."""
    action = path.rsplit("/", 1)[-1]
    if action.endswith("router_interface"):
        return {"subnet_id": ids["subnet_id"]}
    if action.endswith("_prefixes"):
        return {"prefixes": ["10.60.0.0/16"]}
    if action.endswith("extraroutes"):
        return {"router": {"routes": []}}
    if action == "tags":
        return {"tags": []}
    if action in ("insert_rule", "remove_rule"):
        return {"firewall_rule_id": ids["firewall_rule_id"]}
    if path.startswith("/v2.0/fwaas/"):
        return {FWAAS[path.split("/")[3]]: {}}
    if action.endswith(("_rules", "_forwardings")):  # QoS rules, port forwardings
        return {action[:-1]: {}}
    return {SINGULAR[path.split("/")[2]]: {}}


def test_other_projects_resources_are_not_found(api: Api) -> None:
    ids = _resources(api)
    other = api.headers(PROJECT_B)
    checked = 0
    for method, path in _routes(api):
        params = re.findall(r"\{([^}]+)\}", path)
        if len(params) != 1 or params[0] not in ids or "ip-availabilities" in path:
            continue
        url = path.replace("{" + params[0] + "}", ids[params[0]])
        resp = api.client.request(method, url, json=_body(path, ids), headers=other)
        # a QoS rule create is admin-only and, as upstream, enforced before the policy is
        # looked up: a member hears 403 whoever owns it
        admin_first = method == "POST" and path.startswith("/v2.0/qos/policies/")
        assert resp.status_code == (403 if admin_first else 404), (method, url, resp.text)
        checked += 1
    collections = {
        "/v2.0/networks": "network_id",
        "/v2.0/ports": "port_id",
        "/v2.0/routers": "router_id",
        "/v2.0/floatingips": "fip_id",
    }
    for path, key in collections.items():
        items = next(iter(api.get(path, other).json().values()))
        assert ids[key] not in [i["id"] for i in items]
    for resources, key in (("networks", "network_id"), ("ports", "port_id")):
        resp = api.get(f"/v2.0/{resources}/{ids[key]}/tags", other)
        assert resp.status_code == 404
    assert checked >= 47


def test_every_policy_rule_used_by_routes_is_registered(api: Api) -> None:
    names = api.services  # noqa: F841 - the app is built
    policy = api.client.app.state.policy  # type: ignore[attr-defined]
    registered = policy.rule_names()
    for action in ("create", "get", "update", "delete"):
        for res in (
            "network",
            "subnet",
            "port",
            "router",
            "floatingip",
            "security_group",
            "subnetpool",
            "address_scope",
            "rbac_policy",
        ):
            assert f"{action}_{res}" in registered, (action, res)
    for rule in (
        "add_router_interface",
        "remove_router_interface",
        "get_quota",
        "update_quota",
        "get_agent",
        "get_network_ip_availability",
        "get_availability_zone",
        "create_security_group_rule",
    ):
        assert rule in registered


def test_extensions(api: Api) -> None:
    listed = api.get("/v2.0/extensions").json()["extensions"]
    aliases = {e["alias"] for e in listed}
    assert aliases == set(EXTENSIONS)
    assert {"router", "provider", "binding", "security-group", "quotas"} <= aliases
    assert "qos" in aliases and "trunk" not in aliases
    assert api.get("/v2.0/extensions/router").json()["extension"]["alias"] == "router"
    assert api.get("/v2.0/extensions/nope").status_code == 404


def test_agents_zones_and_ip_availability(api: Api) -> None:
    agents = api.services.agents
    agents.report_state(
        AgentState(
            agent_type="DHCP agent",
            host="h1",
            binary="dhcp",
            topic="dhcp_agent",
            availability_zone="az2",
            configurations={"networks": 1},
            start_flag=True,
        )
    )
    listed = api.get("/v2.0/agents", api.admin()).json()["agents"]
    assert [(a["host"], a["alive"], a["agent_type"]) for a in listed] == [
        ("h1", True, "DHCP agent")
    ]
    assert api.get("/v2.0/agents", api.headers()).json()["agents"] == []
    assert api.get(f"/v2.0/agents/{listed[0]['id']}").status_code == 403
    resp = api.put(
        f"/v2.0/agents/{listed[0]['id']}", {"agent": {"admin_state_up": False}}, api.admin()
    )
    assert resp.json()["agent"]["admin_state_up"] is False
    zones = api.get("/v2.0/availability_zones").json()["availability_zones"]
    assert {"name": "nova", "resource": "router", "state": "available"} in zones
    assert {"name": "az2", "resource": "network", "state": "unavailable"} in zones
    net = api.network(availability_zone_hints=["nova"])
    assert net["availability_zones"] == ["nova"]
    bad = api.post("/v2.0/networks", {"network": {"availability_zone_hints": ["mars"]}})
    assert bad.status_code == 404
    subnet = api.subnet(net["id"], "10.0.0.0/28")
    api.port(net["id"])
    avail = api.get(f"/v2.0/network-ip-availabilities/{net['id']}", api.admin()).json()
    item = avail["network_ip_availability"]
    assert item["total_ips"] == 13 and item["used_ips"] == 1
    assert item["subnet_ip_availability"][0]["subnet_id"] == subnet["id"]
    assert api.get("/v2.0/network-ip-availabilities").status_code == 403
    assert api.delete(f"/v2.0/agents/{listed[0]['id']}", api.admin()).status_code == 204
    ctx = internal_context()
    assert ctx.is_admin


def test_openapi_describes_every_write_body(api: Api) -> None:
    """Every POST/PUT route with a body names its request model in /openapi.json."""
    doc = api.client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    bodiless = {("put", "/v2.0/{resources}/{resource_id}/tags/{tag}")}
    checked = 0
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if method not in ("post", "put") or (method, path) in bodiless:
                continue
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[-1] in schemas, (method, path)
            checked += 1
    assert checked >= 28
    network = schemas["NetworkCreate"]["properties"]
    assert "router:external" in network and "provider:network_type" in network


def test_route_table_meets_the_shape(api: Api) -> None:
    """Every route names its policy rules (or is public), none is unreachable, and every
    write route with a body declares its request model (tests/routecheck.py)."""
    rules = RouteRules(
        rules=frozenset(rule.name for rule in policies.list_rules()),
        public=frozenset({("GET", p) for p in ("/", "/v2.0", "/v2.0/")}),
        bodiless=frozenset({("PUT", "/v2.0/{resources}/{resource_id}/tags/{tag}")}),
    )
    routecheck.check(api.client.app, rules)  # type: ignore[arg-type]
