"""The route table: rules, versions and bodies declared, and declared as checked."""

from __future__ import annotations

from typing import Any

import pytest

from tests.routecheck import RouteRules, check
from tinystack.common.api.microversion import OPENAPI_KEY, declared
from tinystack.common.api.openapi import POLICIES_KEY
from tinystack.common.auth.context import RequestContext
from tinystack.placement import policies
from tinystack.placement.api.microversion import MAX_VERSION, MIN_VERSION, PLACEMENT, Version
from tinystack.placement.api.router import ROUTES, router

from .conftest import Api

#: write routes that take no body upstream
NO_BODY = {("PUT", "/traits/{name}")}


def _operations(api: Api) -> dict[tuple[str, str], dict[str, Any]]:
    spec = api.client.get("/openapi.json").json()
    return {
        (method.upper(), path): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }


def test_every_write_route_documents_its_body(api: Api) -> None:
    operations = _operations(api)
    writes = {key for key in operations if key[0] in ("POST", "PUT", "PATCH")}
    assert len(writes) == 13
    for key in sorted(writes - NO_BODY):
        body = operations[key].get("requestBody")
        assert body, f"{key} does not describe its body"
        schema = body["content"]["application/json"]["schema"]
        assert "$ref" not in str(schema), f"{key}: schema references a missing definition"
    for key in NO_BODY:
        assert "requestBody" not in operations[key]


def test_allocation_put_documents_every_version(api: Api) -> None:
    body = _operations(api)[("PUT", "/allocations/{consumer_uuid}")]["requestBody"]
    variants = body["content"]["application/json"]["schema"]["anyOf"]
    assert len(variants) == 6
    assert any("consumer_type" in v.get("properties", {}) for v in variants)


def test_declared_versions_are_in_the_table_and_documented(api: Api) -> None:
    operations = _operations(api)
    declared_routes = 0
    for route in router.routes:
        bounds = declared(route)
        if bounds is None:
            continue
        declared_routes += 1
        assert MIN_VERSION < bounds.minimum <= MAX_VERSION
        for method in getattr(route, "methods", ()):
            extra = operations[(method, getattr(route, "path", ""))][OPENAPI_KEY]
            assert Version.parse(extra["min"]) == bounds.minimum
    assert declared_routes == 19


def test_a_route_before_its_version_does_not_exist(api: Api) -> None:
    api.get("/traits", version="1.5", status=404)
    api.get("/traits", version="1.6", status=200)
    api.get("/allocation_candidates?resources=VCPU:1", version="1.9", status=404)
    api.request("DELETE", "/resource_providers/ffffffff-ffff-ffff-ffff-ffffffffffff/inventories",
                version="1.4", status=405)  # fmt: skip


def test_the_route_meta_test(app: Any) -> None:
    check(
        app,
        RouteRules(
            rules=frozenset(rule.name for rule in policies.list_rules()),
            public=frozenset({("GET", "/")}),
            versions=PLACEMENT.versions,
            bodiless=frozenset(NO_BODY),
        ),
    )


def test_each_route_checks_the_rule_it_declares(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str] = []
    real_can = RequestContext.can

    def can(self: RequestContext, rule: str, target: dict[str, Any] | None = None) -> None:
        checked.append(rule)
        real_can(self, rule, target)

    monkeypatch.setattr(RequestContext, "can", can)
    token = api.token_for(["reader"])
    for route in ROUTES:
        if route.rule is None:
            continue
        path = route.path.replace("{uuid}", "11111111-1111-1111-1111-111111111111")
        path = path.replace("{consumer_uuid}", "22222222-2222-2222-2222-222222222222")
        path = path.replace("{resource_class}", "VCPU").replace("{name}", "CUSTOM_FOO")
        if path == "/usages":
            path += "?project_id=p"
        checked.clear()
        api.request(route.method, path, json={}, token=token, status=403)
        assert checked == [route.rule], (route.method, route.path)
        assert route.openapi()[POLICIES_KEY] == [route.rule]
