"""Fixtures for the image API tests: an in-process app and tokens for a few projects."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.image import imagefiles
from tests.support import make_runtime, make_token
from tinystack.common.service import Runtime
from tinystack.image.service import SERVICE

PROJECT_A = "project-a"
PROJECT_B = "project-b"
PROJECT_C = "project-c"
ADMIN_PROJECT = "admin-project"


class Api:
    """A TestClient with tokens; ``api.as_(role, project)`` returns the headers to use."""

    def __init__(self, client: TestClient, runtime: Runtime, app: FastAPI) -> None:
        self.client = client
        self.app = app
        self.runtime = runtime
        self._tokens: dict[tuple[str, str], str] = {}

    def headers(self, project: str = PROJECT_A, role: str = "member") -> dict[str, str]:
        key = (project, role)
        if key not in self._tokens:
            self._tokens[key] = make_token(self.runtime, roles=[role], project_id=project)
        return {"X-Auth-Token": self._tokens[key]}

    def admin(self) -> dict[str, str]:
        return self.headers(ADMIN_PROJECT, "admin")

    def create(self, headers: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
        body.setdefault("disk_format", "raw")
        body.setdefault("container_format", "bare")
        resp = self.client.post("/v2/images", json=body, headers=headers or self.headers())
        assert resp.status_code == 201, resp.text
        result: dict[str, Any] = resp.json()
        return result

    def upload(
        self, image_id: str, data: bytes, headers: dict[str, str] | None = None, /, **extra: str
    ) -> Any:
        hdrs = {**(headers or self.headers()), "Content-Type": "application/octet-stream", **extra}
        return self.client.put(f"/v2/images/{image_id}/file", content=data, headers=hdrs)

    def show(self, image_id: str, headers: dict[str, str] | None = None) -> Any:
        return self.client.get(f"/v2/images/{image_id}", headers=headers or self.headers())

    def patch(self, image_id: str, ops: Any, headers: dict[str, str] | None = None) -> Any:
        hdrs = {
            **(headers or self.headers()),
            "Content-Type": "application/openstack-images-v2.1-json-patch",
        }
        return self.client.patch(f"/v2/images/{image_id}", json=ops, headers=hdrs)

    def active(self, data: bytes = b"", **body: Any) -> dict[str, Any]:
        """An image with data uploaded (raw, or what ``body`` says)."""
        headers = body.pop("headers", None)
        image = self.create(headers, **body)
        resp = self.upload(image["id"], data or imagefiles.raw(4096), headers)
        assert resp.status_code == 204, resp.text
        return dict(self.show(image["id"], headers).json())


MakeApi = Callable[..., Api]


@pytest.fixture
def make_api(tmp_path: Path) -> Iterator[MakeApi]:
    clients: list[TestClient] = []

    def factory(**overrides: Any) -> Api:
        path = tmp_path / f"state{len(clients)}"
        runtime = make_runtime(path, SERVICE, overrides=overrides or None)
        app = SERVICE.create_app(runtime)
        client = TestClient(app, raise_server_exceptions=False)
        clients.append(client)
        return Api(client, runtime, app)

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def api(make_api: MakeApi) -> Api:
    return make_api()
