"""Policy: upstream rule names and defaults, and every route behind authentication."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute

from tests.image.conftest import PROJECT_B, Api
from tinystack.image import policies

PUBLIC_ROUTES = {"/", "/versions", "/v2", "/v2/"}


def test_rule_names_are_upstream_names(api: Api) -> None:
    names = {rule.name for rule in policies.list_rules()}
    assert names >= {
        "add_image",
        "get_image",
        "get_images",
        "modify_image",
        "publicize_image",
        "communitize_image",
        "delete_image",
        "upload_image",
        "download_image",
        "deactivate",
        "reactivate",
        "add_member",
        "get_member",
        "get_members",
        "modify_member",
        "delete_member",
        "copy_image",
        "context_is_admin",
    }
    assert api.app.state.policy.rule_names() >= names


def api_routes(api: Api) -> list[APIRoute]:
    """Every APIRoute, including those of included routers (no prefixes are used)."""
    found: list[APIRoute] = []
    pending = list(api.app.routes)
    while pending:
        route = pending.pop(0)
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            pending.extend(route.original_router.routes)
    return found


def _routes(api: Api) -> list[tuple[str, str]]:
    routes = []
    for route in api_routes(api):
        if isinstance(route, APIRoute) and route.path not in PUBLIC_ROUTES:
            if route.path.startswith(("/docs", "/openapi")):
                continue
            for method in route.methods or ():
                routes.append((method, route.path))
    return sorted(routes)


def test_every_route_needs_a_token(api: Api) -> None:
    routes = _routes(api)
    assert len(routes) >= 20
    for method, path in routes:
        names = {
            "member_id": "m",
            "tag": "t",
            "namespace": "n",
            "object_name": "o",
            "property_name": "p",
        }
        names.update(tag_name="t", resource_type="r", task_id="t", store_id="s")
        url = path.format(image_id="00000000-0000-0000-0000-000000000000", **names)
        resp = api.client.request(method, url)
        assert resp.status_code == 401, (method, path)


def test_no_duplicate_routes(api: Api) -> None:
    seen = set()
    routes = api_routes(api)
    assert routes
    for route in routes:
        for method in route.methods or ():
            assert (method, route.path) not in seen
            seen.add((method, route.path))


def test_a_role_less_token_is_refused(api: Api) -> None:
    image = api.create(api.admin(), visibility="public")
    nobody = api.headers(role="nobody")
    assert api.client.get("/v2/images", headers=nobody).status_code == 403
    assert api.client.post("/v2/images", json={}, headers=nobody).status_code == 403
    assert api.show(image["id"], nobody).status_code == 404


@pytest.mark.parametrize(("role", "status"), [("reader", 403), ("member", 200), ("admin", 200)])
def test_modify_needs_member_role(api: Api, role: str, status: int) -> None:
    image = api.create()
    project = "admin-project" if role == "admin" else "project-a"
    headers = api.headers(project, role)
    ops = [{"op": "replace", "path": "/name", "value": role}]
    assert api.patch(image["id"], ops, headers).status_code == status


def test_readers_see_but_do_not_download_or_delete(api: Api) -> None:
    image = api.active()
    reader = api.headers(role="reader")
    assert api.show(image["id"], reader).status_code == 200
    assert api.client.get(f"/v2/images/{image['id']}/file", headers=reader).status_code == 403
    assert api.client.delete(f"/v2/images/{image['id']}", headers=reader).status_code == 403


def test_other_projects_get_404_not_403(api: Api) -> None:
    image = api.active(visibility="private")
    other = api.headers(PROJECT_B)
    base = f"/v2/images/{image['id']}"
    assert api.client.get(base, headers=other).status_code == 404
    assert api.client.get(base + "/file", headers=other).status_code == 404
    assert api.client.delete(base, headers=other).status_code == 404
    assert api.client.post(base + "/actions/deactivate", headers=other).status_code == 404
    assert api.client.put(base + "/tags/x", headers=other).status_code == 404
    assert api.client.get(base + "/members", headers=other).status_code == 404


def test_admin_sees_and_manages_everything(api: Api) -> None:
    image = api.active(visibility="private")
    admin = api.admin()
    base = f"/v2/images/{image['id']}"
    assert api.client.get(base, headers=admin).status_code == 200
    assert api.client.get(base + "/file", headers=admin).status_code == 200
    assert api.client.post(base + "/actions/deactivate", headers=admin).status_code == 204
    assert api.client.delete(base, headers=admin).status_code == 204


def test_system_scoped_tokens_are_refused(api: Api) -> None:
    from tests.support import make_token

    token = make_token(api.runtime, roles=["admin"], system=True)
    assert api.client.get("/v2/images", headers={"X-Auth-Token": token}).status_code == 403
