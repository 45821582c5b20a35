"""The route table: rules and bodies declared, and each route checks the rules it declares."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tests.routecheck import RouteRules, check
from tests.support import make_runtime, make_token
from tinystack.common.auth.context import RequestContext
from tinystack.load_balancer import policies
from tinystack.load_balancer.api.router import ROUTES
from tinystack.load_balancer.service import SERVICE

NO_BODY = frozenset({("PUT", "/v2/lbaas/loadbalancers/{loadbalancer_id}/failover")})
ID = "11111111-1111-1111-1111-111111111111"


@pytest.fixture(scope="module")
def app_and_token(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, str]:
    runtime = make_runtime(Path(tmp_path_factory.mktemp("lb")), SERVICE)
    app = SERVICE.create_app(runtime)
    return app, make_token(runtime, roles=["reader"], project_id="p1")


def test_the_route_meta_test(app_and_token: tuple[Any, str]) -> None:
    rules = frozenset(rule.name for rule in policies.list_rules())
    check(app_and_token[0], RouteRules(rules=rules, bodiless=NO_BODY))


def test_each_route_checks_the_rules_it_declares(
    app_and_token: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader of another project is refused (403) or finds nothing (404) by every
    write route, and every rule a route checks is one it declares."""
    app, token = app_and_token
    checked: list[str] = []
    real_can, real_allowed = RequestContext.can, RequestContext.allowed

    def can(self: RequestContext, rule: str, target: dict[str, Any] | None = None) -> None:
        checked.append(rule)
        real_can(self, rule, target)

    def allowed(self: RequestContext, rule: str, target: dict[str, Any] | None = None) -> bool:
        checked.append(rule)
        return real_allowed(self, rule, target)

    monkeypatch.setattr(RequestContext, "can", can)
    monkeypatch.setattr(RequestContext, "allowed", allowed)
    client = TestClient(app)
    for route in ROUTES:
        path = route.path
        for name in ("loadbalancer_id", "listener_id", "pool_id", "member_id",
                     "healthmonitor_id", "l7policy_id", "l7rule_id", "flavor_id"):  # fmt: skip
            path = path.replace("{" + name + "}", ID)
        path = path.replace("{project_id}", "p2").replace("{provider}", "noop_driver")
        checked.clear()
        body = {"loadbalancer": {"vip_subnet_id": ID, "project_id": "p2"}}
        payload = body if route.method in ("POST", "PUT") else None
        response = client.request(route.method, path, headers={"x-auth-token": token}, json=payload)
        assert response.status_code < 500, (route.path, response.text)
        assert set(checked) <= set(route.rules), (route.method, route.path, checked)
        if route.method != "GET" and response.status_code not in (400, 404):
            assert response.status_code == 403, (route.method, route.path, response.text)


def test_errors_are_octavia_faults(app_and_token: tuple[Any, str]) -> None:
    app, token = app_and_token
    client = TestClient(app)
    response = client.get(f"/v2/lbaas/loadbalancers/{ID}", headers={"x-auth-token": token})
    assert response.status_code == 404
    assert response.json() == {
        "faultcode": "Client",
        "faultstring": f"Load Balancer {ID} not found.",
        "debuginfo": None,
    }
