"""Shared fixtures for the identity API tests: an in-process cloud and helpers.

A :class:`Cloud` is identity's FastAPI app on a fresh state directory, bootstrapped
like a first start (admin, demo, roles admin => member => reader, one catalog
entry), driven through ``TestClient`` with real tokens from ``POST /v3/auth/tokens``.
Tests share one cloud per module and give everything they create a unique name.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support import make_runtime
from tinystack.common.service import BootstrapInfo, CatalogEntry, Runtime
from tinystack.identity.service import SERVICE

ADMIN_PASSWORD = "admin-secret"
DEMO_PASSWORD = "demo-secret"
IDENTITY_URL = "http://localhost/v3"
#: sentinel: call with the cloud's admin token
ADMIN = object()


def unique(prefix: str = "x") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    """Identity's error body: ``{"error": {"code", "message", "title"}}`` with ``status``."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert error["code"] == status
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["title"], str) and error["title"]
    return error


def password_auth(
    *,
    user_id: str | None = None,
    name: str | None = None,
    domain: dict[str, str] | None = None,
    password: str,
    scope: Any = None,
) -> dict[str, Any]:
    user: dict[str, Any] = {"password": password}
    if user_id is not None:
        user["id"] = user_id
    else:
        user["name"] = name
        user["domain"] = domain or {"id": "default"}
    auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {"user": user}}}
    if scope is not None:
        auth["scope"] = scope
    return {"auth": auth}


@dataclass
class Cloud:
    client: TestClient
    runtime: Runtime
    admin: str = ""
    system: str = ""
    ids: dict[str, str] = field(default_factory=dict)

    # -- raw calls -------------------------------------------------------------------------

    def call(self, method: str, path: str, token: Any = ADMIN, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if token is ADMIN:
            token = self.admin
        if token is not None:
            headers["X-Auth-Token"] = token
        response: httpx.Response = self.client.request(method, path, headers=headers, **kwargs)
        return response

    def get(self, path: str, token: Any = ADMIN, **kw: Any) -> httpx.Response:
        return self.call("GET", path, token, **kw)

    def head(self, path: str, token: Any = ADMIN, **kw: Any) -> httpx.Response:
        return self.call("HEAD", path, token, **kw)

    def post(self, path: str, token: Any = ADMIN, **kw: Any) -> httpx.Response:
        return self.call("POST", path, token, **kw)

    def put(self, path: str, token: Any = ADMIN, **kw: Any) -> httpx.Response:
        return self.call("PUT", path, token, **kw)

    def patch(self, path: str, token: Any = ADMIN, **kw: Any) -> httpx.Response:
        return self.call("PATCH", path, token, **kw)

    def delete(self, path: str, token: Any = ADMIN, **kw: Any) -> httpx.Response:
        return self.call("DELETE", path, token, **kw)

    def ok(self, method: str, path: str, token: Any = ADMIN, status: int = 200, **kw: Any) -> Any:
        response = self.call(method, path, token, **kw)
        assert response.status_code == status, (method, path, response.status_code, response.text)
        return response.json() if response.content else None

    # -- tokens ----------------------------------------------------------------------------

    def issue(self, body: dict[str, Any], status: int = 201) -> tuple[str, dict[str, Any]]:
        response = self.client.post("/v3/auth/tokens", json=body)
        assert response.status_code == status, response.text
        if status != 201:
            return "", response.json()
        return response.headers["X-Subject-Token"], response.json()["token"]

    def login(
        self, user_id: str, password: str = "secret", scope: Any = None
    ) -> tuple[str, dict[str, Any]]:
        return self.issue(password_auth(user_id=user_id, password=password, scope=scope))

    def project_token(self, user_id: str, project_id: str, password: str = "secret") -> str:
        return self.login(user_id, password, {"project": {"id": project_id}})[0]

    def alive(self, token: str) -> bool:
        """Whether ``token`` still authenticates a request (200) rather than 401."""
        response = self.get("/v3/auth/tokens", token=token, headers={"X-Subject-Token": token})
        assert response.status_code in (200, 401, 404), response.text
        return response.status_code == 200

    # -- objects ---------------------------------------------------------------------------

    def domain(self, name: str | None = None, **fields: Any) -> dict[str, Any]:
        body = {"domain": {"name": name or unique("dom"), **fields}}
        created: dict[str, Any] = self.ok("POST", "/v3/domains", status=201, json=body)["domain"]
        return created

    def project(self, name: str | None = None, **fields: Any) -> dict[str, Any]:
        body = {"project": {"name": name or unique("proj"), **fields}}
        created: dict[str, Any] = self.ok("POST", "/v3/projects", status=201, json=body)["project"]
        return created

    def user(
        self, name: str | None = None, password: str | None = "secret", **fields: Any
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"name": name or unique("user"), **fields}
        if password is not None:
            data["password"] = password
        created: dict[str, Any] = self.ok("POST", "/v3/users", status=201, json={"user": data})[
            "user"
        ]
        return created

    def group(self, name: str | None = None, **fields: Any) -> dict[str, Any]:
        body = {"group": {"name": name or unique("grp"), **fields}}
        created: dict[str, Any] = self.ok("POST", "/v3/groups", status=201, json=body)["group"]
        return created

    def role(self, name: str | None = None, **fields: Any) -> dict[str, Any]:
        body = {"role": {"name": name or unique("role"), **fields}}
        created: dict[str, Any] = self.ok("POST", "/v3/roles", status=201, json=body)["role"]
        return created

    def role_id(self, name: str) -> str:
        return self.ids["role:" + name]

    @staticmethod
    def grant_path(
        role_id: str,
        *,
        user: str | None = None,
        group: str | None = None,
        project: str | None = None,
        domain: str | None = None,
        inherited: bool = False,
    ) -> str:
        actor = f"users/{user}" if user else f"groups/{group}"
        target = f"projects/{project}" if project else f"domains/{domain}"
        if inherited:
            return f"/v3/OS-INHERIT/{target}/{actor}/roles/{role_id}/inherited_to_projects"
        return f"/v3/{target}/{actor}/roles/{role_id}"

    def grant(self, role: str, **where: Any) -> str:
        """Grant ``role`` (a name of a bootstrap role or a role id); return the grant path."""
        role_id = self.ids.get("role:" + role, role)
        path = self.grant_path(role_id, **where)
        self.ok("PUT", path, status=204)
        return path

    def member(self, role: str = "member") -> tuple[dict[str, Any], dict[str, Any], str]:
        """A new project and a new user with ``role`` on it; returns (project, user, token)."""
        project = self.project()
        user = self.user()
        self.grant(role, user=user["id"], project=project["id"])
        return project, user, self.project_token(user["id"], project["id"])


def build_cloud(
    tmp_path: Path, db_url: str | None = None, overrides: dict[str, object] | None = None
) -> Cloud:
    """``overrides``: options as ``group.name`` (e.g. ``security_compliance.lockout_duration``)."""
    runtime = make_runtime(
        tmp_path,
        SERVICE,
        db_url=db_url,
        overrides={"identity.password_hash_rounds": 4, **(overrides or {})},
    )
    app = SERVICE.create_app(runtime)
    SERVICE.bootstrap(
        runtime,
        BootstrapInfo(
            admin_password=ADMIN_PASSWORD,
            demo_password=DEMO_PASSWORD,
            region="RegionOne",
            catalog=[CatalogEntry("identity", "keystone", IDENTITY_URL)],
            service_users={},
        ),
    )
    cloud = Cloud(client=TestClient(app), runtime=runtime)
    admin_scope = {"project": {"name": "admin", "domain": {"id": "default"}}}
    cloud.admin, token = cloud.issue(
        password_auth(name="admin", password=ADMIN_PASSWORD, scope=admin_scope)
    )
    cloud.ids["admin_user"] = token["user"]["id"]
    cloud.ids["admin_project"] = token["project"]["id"]
    cloud.system, _ = cloud.issue(
        password_auth(name="admin", password=ADMIN_PASSWORD, scope={"system": {"all": True}})
    )
    for role in cloud.ok("GET", "/v3/roles")["roles"]:
        cloud.ids["role:" + role["name"]] = role["id"]
    for name in ("demo", "service"):
        found = cloud.ok("GET", f"/v3/projects?name={name}")["projects"]
        cloud.ids[name + "_project"] = found[0]["id"]
    cloud.ids["demo_user"] = cloud.ok("GET", "/v3/users?name=demo")["users"][0]["id"]
    return cloud


def restart(cloud: Cloud) -> Cloud:
    """The same cloud (state directory, keys, database) in a fresh runtime, as after a restart."""
    assert cloud.runtime.db is not None
    runtime = make_runtime(
        Path(cloud.runtime.conf.state_dir),
        SERVICE,
        db_url=cloud.runtime.db.url,
        overrides={"identity.password_hash_rounds": 4},
    )
    app = SERVICE.create_app(runtime)
    return Cloud(
        client=TestClient(app),
        runtime=runtime,
        admin=cloud.admin,
        system=cloud.system,
        ids=dict(cloud.ids),
    )


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    built = build_cloud(tmp_path_factory.mktemp("identity"))
    try:
        yield built
    finally:
        built.client.close()
        if built.runtime.db is not None:
            built.runtime.db.dispose()


@pytest.fixture
def fresh_cloud(tmp_path: Path) -> Iterator[Cloud]:
    """A cloud of its own, for tests that change global state (roles, the catalog)."""
    built = build_cloud(tmp_path)
    try:
        yield built
    finally:
        built.client.close()
        if built.runtime.db is not None:
            built.runtime.db.dispose()
