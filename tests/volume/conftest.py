"""Fixtures for volume tests: a real cloud (identity, image, volume) per module, HTTP
clients at a chosen microversion, and waiting helpers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cloudproc import CloudProcess

SERVICES = ["identity", "image", "volume"]
#: a test-only driver with fault knobs (tests/volume/sparse_driver.py)
SPARSE_DRIVER = "tests.volume.sparse_driver:create_driver"


def volume_conf(**options: object) -> str:
    """A ``[volume]`` section for the test cloud (the file driver, fast heartbeats)."""
    values: dict[str, object] = {
        "report_interval": 1,
        "file_capacity_gb": 1000,
        **options,
    }
    return "[volume]\n" + "".join(f"{k} = {v}\n" for k, v in values.items())


class Api:
    """HTTP to the volume API with a token and a microversion."""

    def __init__(self, base: str, token: str, version: str | None = "latest") -> None:
        headers = {"X-Auth-Token": token}
        if version:
            headers["OpenStack-API-Version"] = f"volume {version}"
        self.base = base
        self.http = httpx.Client(base_url=base, headers=headers, timeout=60)
        self.token = token

    def at(self, version: str | None) -> Api:
        return Api(self.base, self.token, version)

    def request(self, method: str, path: str, status: int | None = None, **kw: Any) -> Any:
        response = self.http.request(method, path, **kw)
        if status is not None:
            assert response.status_code == status, (
                f"{method} {path}: {response.status_code} {response.text[:500]}"
            )
        return response

    def get(self, path: str, status: int | None = 200, **kw: Any) -> Any:
        return self.request("GET", path, status, **kw)

    def post(self, path: str, json: Any = None, status: int | None = None, **kw: Any) -> Any:
        return self.request("POST", path, status, json=json, **kw)

    def put(self, path: str, json: Any = None, status: int | None = None, **kw: Any) -> Any:
        return self.request("PUT", path, status, json=json, **kw)

    def delete(self, path: str, status: int | None = None, **kw: Any) -> Any:
        return self.request("DELETE", path, status, **kw)


class Env:
    """A running cloud plus volume API clients for the admin and demo users."""

    def __init__(self, cloud: CloudProcess) -> None:
        self.cloud = cloud
        self.admin_token = cloud.token("tinystack-admin")
        self.demo_token = cloud.token("tinystack-demo")
        self.admin = Api(cloud.endpoint("block-storage"), self.admin_token)
        self.demo = Api(cloud.endpoint("block-storage"), self.demo_token)
        self.volumes_dir = cloud.state_dir / "volumes"

    def volume_file(self, vid: str) -> Path:
        """The file driver's file of a volume."""
        return self.volumes_dir / f"volume-{vid}.qcow2"

    def project_id(self, cloud: str = "tinystack-demo") -> str:
        return str(self.cloud.osc("token", "issue", cloud=cloud)["project_id"])

    def create(
        self, api: Api | None = None, wait: str | None = "available", **volume: Any
    ) -> dict[str, Any]:
        api = api or self.demo
        body = {"size": 1, **volume}
        created = api.post("/volumes", {"volume": body}, 202).json()["volume"]
        if wait:
            return self.wait(created["id"], wait, api=api)
        return dict(created)

    def wait(
        self, vid: str, *statuses: str, api: Api | None = None, timeout: float = 30
    ) -> dict[str, Any]:
        api = api or self.demo
        deadline = time.monotonic() + timeout
        volume: dict[str, Any] = {}
        while time.monotonic() < deadline:
            response = api.get(f"/volumes/{vid}", None)
            if response.status_code == 404:
                if "deleted" in statuses:
                    return {"status": "deleted"}
                raise AssertionError(f"volume {vid} is gone")
            volume = dict(response.json()["volume"])
            if volume["status"] in statuses:
                return volume
            if volume["status"] == "error" and "error" not in statuses:
                raise AssertionError(f"volume {vid} went to error: {self.messages(vid)}")
            time.sleep(0.05)
        raise AssertionError(f"volume {vid} is {volume.get('status')}, wanted {statuses}")

    def messages(self, vid: str) -> list[dict[str, Any]]:
        found = self.admin.get("/messages").json()["messages"]
        return [m for m in found if m["resource_uuid"] == vid]


MakeEnv = Callable[..., Env]


@pytest.fixture(scope="module")
def make_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeEnv]:
    clouds: list[CloudProcess] = []

    def make(extra_conf: str = "", services: list[str] | None = None) -> Env:
        state = Path(tmp_path_factory.mktemp("cloud"))
        cloud = CloudProcess(state, services or SERVICES, extra_conf or volume_conf())
        cloud.start(timeout=120)
        clouds.append(cloud)
        return Env(cloud)

    yield make
    for cloud in clouds:
        cloud.stop()


@pytest.fixture(scope="module")
def env(make_env: MakeEnv) -> Env:
    return make_env()
