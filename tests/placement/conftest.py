"""Fixtures for in-process Placement API tests.

Every test gets a fresh SQLite database copied from a template that was
migrated and seeded (standard traits and resource classes) once per session,
and an :class:`Api` client speaking a chosen microversion with an admin token.
"""

from __future__ import annotations

import shutil
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tests.support import make_runtime, make_token
from tinystack.common.service import Runtime
from tinystack.placement.service import SERVICE

DB_FILE = "placement.sqlite"


class Api:
    """A test client for one Placement app: a default microversion and token."""

    def __init__(self, client: TestClient, runtime: Runtime, version: str = "latest") -> None:
        self.client = client
        self.runtime = runtime
        self.version = version
        self.token = make_token(runtime, roles=["admin"], project_id="admin-project")

    def token_for(self, roles: list[str], project_id: str = "some-project") -> str:
        return make_token(self.runtime, roles=roles, project_id=project_id)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        version: str | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        status: int | None = None,
    ) -> Any:
        all_headers = {"x-auth-token": token or self.token}
        all_headers["openstack-api-version"] = f"placement {version or self.version}"
        all_headers |= headers or {}
        response = self.client.request(method, path, json=json, headers=all_headers)
        if status is not None:
            assert response.status_code == status, (
                f"{method} {path}: {response.status_code} {response.text}"
            )
        return response

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.request("POST", path, json=json, **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.request("PUT", path, json=json, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)

    # -- shortcuts to build state ---------------------------------------------------
    def provider(
        self,
        name: str | None = None,
        parent: str | None = None,
        inventory: dict[str, Any] | None = None,
        traits: list[str] | None = None,
        aggregates: list[str] | None = None,
    ) -> str:
        body: dict[str, Any] = {"name": name or f"rp-{uuid.uuid4().hex[:8]}"}
        if parent:
            body["parent_provider_uuid"] = parent
        rp: str = self.post("/resource_providers", body, version="1.39", status=200).json()["uuid"]
        if inventory:
            self.set_inventory(rp, inventory)
        if traits:
            for trait in traits:
                if trait.startswith("CUSTOM_"):
                    self.put(f"/traits/{trait}", version="1.39")
            gen = self.generation(rp)
            self.put(
                f"/resource_providers/{rp}/traits",
                {"traits": traits, "resource_provider_generation": gen},
                version="1.39",
                status=200,
            )
        if aggregates:
            gen = self.generation(rp)
            self.put(
                f"/resource_providers/{rp}/aggregates",
                {"aggregates": aggregates, "resource_provider_generation": gen},
                version="1.39",
                status=200,
            )
        return rp

    def generation(self, rp: str) -> int:
        found: int = self.get(f"/resource_providers/{rp}", status=200).json()["generation"]
        return found

    def set_inventory(self, rp: str, inventory: dict[str, Any]) -> dict[str, Any]:
        records = {
            rc: (value if isinstance(value, dict) else {"total": value})
            for rc, value in inventory.items()
        }
        body = {"resource_provider_generation": self.generation(rp), "inventories": records}
        result: dict[str, Any] = self.put(
            f"/resource_providers/{rp}/inventories", body, status=200
        ).json()
        return result

    def allocate(
        self,
        consumer: str,
        allocations: dict[str, dict[str, int]],
        *,
        generation: int | None = None,
        project_id: str = "project-a",
        user_id: str = "user-a",
        consumer_type: str = "INSTANCE",
        status: int | None = 204,
    ) -> Any:
        body = {
            "allocations": {rp: {"resources": res} for rp, res in allocations.items()},
            "project_id": project_id,
            "user_id": user_id,
            "consumer_generation": generation,
            "consumer_type": consumer_type,
        }
        return self.put(f"/allocations/{consumer}", body, version="1.39", status=status)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, seeded placement database to copy for each test."""
    path = tmp_path_factory.mktemp("placement-template")
    runtime = make_runtime(path, SERVICE)
    SERVICE.create_app(runtime)
    assert runtime.db is not None
    runtime.db.dispose()
    return path / DB_FILE


@pytest.fixture
def runtime(tmp_path: Path, template_db: Path) -> Iterator[Runtime]:
    shutil.copy(template_db, tmp_path / DB_FILE)
    rt = make_runtime(tmp_path, SERVICE)
    yield rt
    if rt.db is not None:
        rt.db.dispose()


@pytest.fixture
def app(runtime: Runtime) -> Any:
    return SERVICE.create_app(runtime)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient, runtime: Runtime) -> Api:
    return Api(client, runtime)
