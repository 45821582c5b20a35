"""Every route is authenticated and authorized: walk the app's route table."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute

from .conftest import Api

SAMPLE = {
    "uuid": "11111111-1111-1111-1111-111111111111",
    "consumer_uuid": "22222222-2222-2222-2222-222222222222",
    "resource_class": "VCPU",
    "name": "CUSTOM_FOO",
}
PUBLIC = {("GET", "/")}


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """API routes, looking inside included routers (FastAPI may keep them nested)."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _api_routes(route.original_router.routes)
    return found


def _routes(app: Any) -> list[tuple[str, str]]:
    return [(m, r.path) for r in _api_routes(app.routes) for m in sorted(r.methods or ())]


def _url(path: str) -> str:
    url = re.sub(r"\{(\w+)\}", lambda m: SAMPLE[m.group(1)], path)
    if url == "/usages":
        url += "?project_id=another-project"
    return url


def test_no_shadowed_routes(app: Any) -> None:
    routes = _routes(app)
    assert len(routes) == len(set(routes))
    assert len(routes) >= 34


@pytest.mark.parametrize("roles", [["member"], ["reader"]])
def test_every_route_is_admin_only(api: Api, app: Any, roles: list[str]) -> None:
    token = api.token_for(roles, project_id="some-project")
    checked = 0
    for method, path in _routes(app):
        if (method, path) in PUBLIC:
            continue
        response = api.request(method, _url(path), json={}, token=token)
        assert response.status_code == 403, (method, path, response.text)
        error = response.json()["errors"][0]
        assert error["detail"].startswith("You are not authorized")
        checked += 1
    assert checked >= 33


def test_every_route_needs_a_token(api: Api, app: Any) -> None:
    for method, path in _routes(app):
        if (method, path) in PUBLIC:
            continue
        response = api.client.request(method, _url(path), json={})
        assert response.status_code == 401, (method, path)
        assert response.json()["errors"][0]["title"] == "Unauthorized"


def test_service_role_is_allowed(api: Api) -> None:
    token = api.token_for(["service"], project_id="service")
    api.get("/resource_providers", token=token, status=200)
    api.post("/resource_providers", {"name": "by-service"}, token=token, status=200)


def test_project_reader_sees_own_usages(api: Api) -> None:
    token = api.token_for(["reader"], project_id="p1")
    api.get("/usages?project_id=p1", token=token, status=200)
    api.get("/usages?project_id=p2", token=token, status=403)


def test_system_scope_is_refused(api: Api) -> None:
    from tests.support import make_token

    token = make_token(api.runtime, roles=["admin"], system=True)
    api.get("/resource_providers", token=token, status=403)
