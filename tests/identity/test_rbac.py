"""Authorization: every route needs a token, every rule is registered, and the default
roles (admin, member, reader; system, domain and project scope) behave as upstream."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

from tests.identity.conftest import Cloud, assert_error, unique
from tests.identity.policy_scan import RULE_ARG, checked_rules, rule_names
from tinystack.common.policy import Policy
from tinystack.identity import policies
from tinystack.identity.api import router as api_router

API_DIR = Path(api_router.__file__).parent
SERVICES_DIR = API_DIR.parent / "services"
#: routes that answer without a token, as upstream's
PUBLIC = {
    ("GET", "/"),
    ("HEAD", "/"),
    ("GET", "/v3"),
    ("HEAD", "/v3"),
    ("GET", "/v3/"),
    ("HEAD", "/v3/"),
    ("POST", "/v3/auth/tokens"),
    # Unenforced upstream: the original password is the credential.
    ("POST", "/v3/users/{user_id}/password"),
    # Unenforced upstream: the identity provider's token is the credential.
    ("GET", "/v3/OS-FEDERATION/identity_providers/{idp_id}/protocols/{protocol_id}/auth"),
    ("POST", "/v3/OS-FEDERATION/identity_providers/{idp_id}/protocols/{protocol_id}/auth"),
    # The consumer's OAuth signature is the credential.
    ("POST", "/v3/OS-OAUTH1/request_token"),
    ("POST", "/v3/OS-OAUTH1/access_token"),
    # Unenforced upstream (Keystone-to-Keystone): the token in the body is the credential
    # at the identity provider, the signed assertion at the service provider; the
    # metadata is public.
    ("POST", "/v3/auth/OS-FEDERATION/saml2"),
    ("POST", "/v3/auth/OS-FEDERATION/saml2/ecp"),
    ("GET", "/v3/OS-FEDERATION/saml2/metadata"),
    ("HEAD", "/v3/OS-FEDERATION/saml2/metadata"),
    ("POST", "/Shibboleth.sso/SAML2/ECP"),
}
PARAMS = {"target": "projects", "actor": "users"}


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """APIRoutes, looking into included routers (newer FastAPI includes them lazily)."""
    out: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append(route)
        elif hasattr(route, "original_router"):
            out += _api_routes(route.original_router.routes)
    return out


def _routes(cloud: Cloud) -> list[tuple[str, str, APIRoute]]:
    out = []
    for route in _api_routes(cloud.client.app.routes):  # type: ignore[attr-defined]
        for method in sorted(route.methods or ()):
            out.append((method, route.path, route))
    return out


def _fill(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PARAMS.get(m.group(1), "x" + m.group(1)), path)


def test_every_route_but_the_public_ones_needs_a_token(cloud: Cloud) -> None:
    routes = _routes(cloud)
    assert len(routes) > 100
    seen_public = set()
    for method, path, _ in routes:
        if (method, path) in PUBLIC:
            seen_public.add((method, path))
            continue
        for token in (None, "not-a-token"):
            response = cloud.call(method, _fill(path), token=token, json={})
            assert response.status_code == 401, (method, path, response.status_code, response.text)
            if method != "HEAD":
                assert_error(response, 401)
    assert seen_public == PUBLIC
    assert cloud.get("/openapi.json", token=None).status_code == 200


def _rule_names_in_source() -> dict[str, set[str]]:
    """Rule names passed to authorize/enforce/authorized or ctx.can, per module of api/ and
    services/; f-strings expanded."""
    found: dict[str, set[str]] = {}
    for module in sorted([*API_DIR.glob("*.py"), *SERVICES_DIR.glob("*.py")]):
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in RULE_ARG and name != "_subject":
                index = RULE_ARG[name]
                arg = node.args[index] if len(node.args) > index else None
            elif isinstance(func, ast.Attribute) and func.attr in ("can", "allowed"):
                arg = node.args[0] if node.args else None
            else:
                continue
            assert arg is not None, f"{module.name}:{node.lineno}: rule name missing"
            if isinstance(arg, ast.Name):
                continue  # a variable holding one of the literal names checked elsewhere
            names = rule_names(arg)
            assert names, f"{module.name}:{node.lineno}: unexpected rule expression"
            found.setdefault(module.name, set()).update(names)
    return found


def test_every_rule_used_is_registered(cloud: Cloud) -> None:
    registered = {r.name for r in policies.list_rules()}
    used = set().union(*_rule_names_in_source().values())
    assert len(used) > 80
    assert used - registered == set()
    enforcer_rules = Policy(cloud.runtime.conf, policies.list_rules()).rule_names()
    assert used <= enforcer_rules
    # Rule names are upstream's: identity:<verb>_<resource>.
    assert all(re.fullmatch(r"identity:[a-z0-9_]+", n) for n in registered)


def test_every_protected_handler_authorizes(cloud: Cloud) -> None:
    for method, path, route in _routes(cloud):
        if (method, path) in PUBLIC:
            continue
        assert checked_rules(route.endpoint), f"{method} {path} enforces no policy"


# -- default roles ------------------------------------------------------------------------


def test_member_cannot_administer(cloud: Cloud) -> None:
    project, user, token = cloud.member()
    other_user = cloud.user()
    writes = [
        ("POST", "/v3/projects", {"project": {"name": unique()}}),
        ("POST", "/v3/users", {"user": {"name": unique()}}),
        ("POST", "/v3/groups", {"group": {"name": unique()}}),
        ("POST", "/v3/roles", {"role": {"name": unique()}}),
        ("POST", "/v3/domains", {"domain": {"name": unique()}}),
        ("POST", "/v3/regions", {"region": {}}),
        ("POST", "/v3/services", {"service": {"type": "x"}}),
        (
            "PUT",
            cloud.grant_path(cloud.role_id("admin"), user=user["id"], project=project["id"]),
            None,
        ),
        ("PUT", cloud.grant_path(cloud.role_id("admin"), user=user["id"], domain="default"), None),
        ("PUT", f"/v3/system/users/{user['id']}/roles/{cloud.role_id('admin')}", None),
        ("PATCH", f"/v3/projects/{project['id']}", {"project": {"description": "mine"}}),
        ("DELETE", f"/v3/projects/{project['id']}", None),
        ("PATCH", f"/v3/users/{user['id']}", {"user": {"enabled": True}}),
        ("PATCH", f"/v3/users/{other_user['id']}", {"user": {"enabled": False}}),
        ("DELETE", f"/v3/users/{other_user['id']}", None),
        ("PUT", f"/v3/projects/{project['id']}/tags/mine", None),
        ("PUT", f"/v3/roles/{cloud.role_id('reader')}/implies/{cloud.role_id('service')}", None),
    ]
    for method, path, body in writes:
        assert_error(cloud.call(method, path, token=token, json=body), 403)


def test_member_sees_only_its_own(cloud: Cloud) -> None:
    project, user, token = cloud.member()
    other_project = cloud.project()
    other_user = cloud.user()
    # Own things.
    assert (
        cloud.ok("GET", f"/v3/projects/{project['id']}", token=token)["project"]["id"]
        == project["id"]
    )
    assert cloud.ok("GET", f"/v3/projects/{project['id']}/tags", token=token)["tags"] == []
    assert cloud.ok("GET", f"/v3/users/{user['id']}", token=token)["user"]["id"] == user["id"]
    own = cloud.ok("GET", f"/v3/users/{user['id']}/projects", token=token)["projects"]
    assert [p["id"] for p in own] == [project["id"]]
    assert [p["id"] for p in cloud.ok("GET", "/v3/auth/projects", token=token)["projects"]] == [
        project["id"]
    ]
    assert cloud.ok("GET", f"/v3/users/{user['id']}/groups", token=token)["groups"] == []
    assert cloud.ok("GET", "/v3/domains/default", token=token)["domain"]["id"] == "default"
    assert cloud.ok("GET", "/v3/regions", token=token)["regions"]
    # Everyone else's.
    for path in (
        f"/v3/projects/{other_project['id']}",
        f"/v3/projects/{other_project['id']}/tags",
        f"/v3/users/{other_user['id']}",
        f"/v3/users/{other_user['id']}/projects",
        f"/v3/users/{other_user['id']}/groups",
        "/v3/projects",
        "/v3/projects?domain_id=default",
        "/v3/users",
        "/v3/users?domain_id=default",
        "/v3/groups",
        "/v3/roles",
        f"/v3/roles/{cloud.role_id('admin')}",
        "/v3/role_assignments",
        f"/v3/role_assignments?scope.project.id={project['id']}",
        "/v3/domains",
        "/v3/services",
        "/v3/endpoints",
        "/v3/role_inferences",
        cloud.grant_path(cloud.role_id("member"), user=user["id"], project=other_project["id"]),
        f"/v3/system/users/{user['id']}/roles",
        f"/v3/users/{other_user['id']}/application_credentials",
    ):
        assert_error(cloud.get(path, token=token), 403)
    other_domain = cloud.domain()
    assert_error(cloud.get(f"/v3/domains/{other_domain['id']}", token=token), 403)


def test_project_scope_does_not_leak_to_another_project(cloud: Cloud) -> None:
    a, user_a, token_a = cloud.member("admin")  # even an admin role... is global, as upstream
    b, user_b, token_b = cloud.member("reader")
    assert_error(cloud.get(f"/v3/projects/{a['id']}", token=token_b), 403)
    assert_error(cloud.get(f"/v3/users/{user_a['id']}", token=token_b), 403)
    assert_error(cloud.patch(f"/v3/projects/{b['id']}", token=token_b, json={"project": {}}), 403)
    # Upstream's admin role is cloud-wide whatever the scope (rule:admin_required).
    assert cloud.get(f"/v3/projects/{b['id']}", token=token_a).status_code == 200


def test_reader_cannot_write(cloud: Cloud) -> None:
    project, user, token = cloud.member("reader")
    assert cloud.get(f"/v3/projects/{project['id']}", token=token).status_code == 200
    for method, path, body in (
        ("PATCH", f"/v3/projects/{project['id']}", {"project": {"description": "x"}}),
        ("PUT", f"/v3/projects/{project['id']}/tags", {"tags": ["x"]}),
        ("DELETE", f"/v3/projects/{project['id']}/tags", None),
        ("POST", "/v3/projects", {"project": {"name": unique()}}),
        (
            "PUT",
            cloud.grant_path(cloud.role_id("reader"), user=user["id"], project=project["id"]),
            None,
        ),
    ):
        assert_error(cloud.call(method, path, token=token, json=body), 403)


def test_system_reader_reads_everything_writes_nothing(cloud: Cloud) -> None:
    user = cloud.user()
    cloud.ok("PUT", f"/v3/system/users/{user['id']}/roles/{cloud.role_id('reader')}", status=204)
    token, _ = cloud.login(user["id"], scope={"system": {"all": True}})
    for path in (
        "/v3/projects",
        "/v3/users",
        "/v3/groups",
        "/v3/roles",
        "/v3/domains",
        "/v3/role_assignments",
        "/v3/services",
        "/v3/endpoints",
        "/v3/role_inferences",
        f"/v3/users/{cloud.ids['demo_user']}/projects",
    ):
        assert cloud.get(path, token=token).status_code == 200, path
    for method, path, body in (
        ("POST", "/v3/projects", {"project": {"name": unique()}}),
        ("POST", "/v3/users", {"user": {"name": unique()}}),
        ("DELETE", f"/v3/users/{cloud.ids['demo_user']}", None),
        ("POST", "/v3/domains", {"domain": {"name": unique()}}),
    ):
        assert_error(cloud.call(method, path, token=token, json=body), 403)


def test_domain_reader_sees_its_domain_only(cloud: Cloud) -> None:
    domain, other = cloud.domain(), cloud.domain()
    inside = cloud.project(domain_id=domain["id"])
    outside = cloud.project(domain_id=other["id"])
    inside_user = cloud.user(domain_id=domain["id"])
    outside_user = cloud.user(domain_id=other["id"])
    reader = cloud.user(domain_id=domain["id"])
    cloud.grant("reader", user=reader["id"], domain=domain["id"])
    cloud.grant("member", user=inside_user["id"], project=inside["id"])
    cloud.grant("member", user=outside_user["id"], project=outside["id"])
    token, _ = cloud.login(reader["id"], scope={"domain": {"id": domain["id"]}})
    projects = cloud.ok("GET", "/v3/projects", token=token)["projects"]
    assert {p["id"] for p in projects} == {inside["id"]}
    users = cloud.ok("GET", "/v3/users", token=token)["users"]
    assert {u["id"] for u in users} == {inside_user["id"], reader["id"]}
    rows = cloud.ok("GET", "/v3/role_assignments", token=token)["role_assignments"]
    assert {r["user"]["id"] for r in rows} == {inside_user["id"], reader["id"]}
    assert cloud.get(f"/v3/projects/{inside['id']}", token=token).status_code == 200
    assert cloud.get(f"/v3/users/{inside_user['id']}", token=token).status_code == 200
    assert cloud.get(f"/v3/domains/{domain['id']}", token=token).status_code == 200
    assert_error(cloud.get(f"/v3/projects/{outside['id']}", token=token), 403)
    assert_error(cloud.get(f"/v3/users/{outside_user['id']}", token=token), 403)
    assert_error(cloud.get(f"/v3/domains/{other['id']}", token=token), 403)
    # As upstream, a filter on another domain finds nothing rather than failing.
    assert cloud.ok("GET", f"/v3/projects?domain_id={other['id']}", token=token)["projects"] == []
    assert_error(
        cloud.post(
            "/v3/projects",
            token=token,
            json={"project": {"name": unique(), "domain_id": domain["id"]}},
        ),
        403,
    )


@pytest.mark.parametrize("scope", ["project", "system"])
def test_admin_tokens_can_administer(cloud: Cloud, scope: str) -> None:
    token = cloud.admin if scope == "project" else cloud.system
    project = cloud.ok(
        "POST", "/v3/projects", token=token, status=201, json={"project": {"name": unique()}}
    )
    cloud.ok("DELETE", f"/v3/projects/{project['project']['id']}", token=token, status=204)


def test_openapi_schema_has_unique_operations(cloud: Cloud) -> None:
    import warnings

    app = cloud.client.app
    app.openapi_schema = None  # type: ignore[attr-defined]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        schema = app.openapi()  # type: ignore[attr-defined]
    ids = [op["operationId"] for item in schema["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids)) > 60
    # HEAD next to GET is served but not documented twice.
    assert cloud.head("/v3/projects").status_code == 200
    assert "head" not in schema["paths"]["/v3/projects"]
