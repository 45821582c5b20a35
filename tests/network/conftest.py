"""Fixtures for the network API tests: an in-process app, tokens and resource helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support import make_runtime, make_token
from tinystack.common.service import Runtime
from tinystack.network.service import SERVICE, build_deps
from tinystack.network.services.deps import Deps

PROJECT_A = "project-a"
PROJECT_B = "project-b"
ADMIN_PROJECT = "admin-project"


class Api:
    """A TestClient with tokens per (project, role) and helpers that assert success."""

    def __init__(self, client: TestClient, runtime: Runtime) -> None:
        self.client = client
        self.runtime = runtime
        self._tokens: dict[tuple[str, str], str] = {}

    @property
    def services(self) -> Deps:
        return build_deps(self.runtime)

    def headers(self, project: str = PROJECT_A, role: str = "member") -> dict[str, str]:
        key = (project, role)
        if key not in self._tokens:
            self._tokens[key] = make_token(self.runtime, roles=[role], project_id=project)
        return {"X-Auth-Token": self._tokens[key]}

    def admin(self) -> dict[str, str]:
        return self.headers(ADMIN_PROJECT, "admin")

    def get(self, path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
        return self.client.get(path, headers=headers or self.headers(), params=params or None)

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        return self.client.post(path, json=body, headers=headers or self.headers())

    def put(self, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        return self.client.put(path, json=body, headers=headers or self.headers())

    def delete(self, path: str, headers: dict[str, str] | None = None) -> Any:
        return self.client.delete(path, headers=headers or self.headers())

    def create(
        self, kind: str, headers: dict[str, str] | None = None, path: str = "", **body: Any
    ) -> dict[str, Any]:
        url = f"/v2.0/{path or kind + 's'}"
        resp = self.post(url, {kind: body}, headers)
        assert resp.status_code == 201, resp.text
        item: dict[str, Any] = resp.json()[kind]
        return item

    def network(self, headers: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
        body.setdefault("name", "net")
        return self.create("network", headers, **body)

    def subnet(
        self, network_id: str, cidr: str, headers: dict[str, str] | None = None, **body: Any
    ) -> dict[str, Any]:
        body.setdefault("ip_version", 6 if ":" in cidr else 4)
        return self.create("subnet", headers, network_id=network_id, cidr=cidr, **body)

    def port(self, network_id: str, headers: dict[str, str] | None = None, **body: Any) -> Any:
        return self.create("port", headers, network_id=network_id, **body)

    def router(self, headers: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
        body.setdefault("name", "router")
        return self.create("router", headers, **body)

    def external_network(self, cidr: str = "172.24.4.0/24") -> tuple[dict[str, Any], Any]:
        net = self.network(
            self.admin(),
            name="public",
            **{
                "router:external": True,
                "provider:network_type": "flat",
                "provider:physical_network": "public",
            },
        )
        subnet = self.subnet(net["id"], cidr, self.admin(), enable_dhcp=False)
        return net, subnet


def error_type(resp: Any) -> str:
    return str(resp.json()["NeutronError"]["type"])


MakeApi = Callable[..., Api]


@pytest.fixture
def make_api(tmp_path: Path) -> Iterator[MakeApi]:
    clients: list[TestClient] = []

    def factory(db_url: str | None = None, **overrides: Any) -> Api:
        path = tmp_path / f"state{len(clients)}"
        runtime = make_runtime(path, SERVICE, db_url=db_url, overrides=overrides or None)
        client = TestClient(SERVICE.create_app(runtime), raise_server_exceptions=False)
        clients.append(client)
        return Api(client, runtime)

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def api(make_api: MakeApi) -> Api:
    return make_api()
