"""Fixtures for volume tests: a real cloud (identity, image, volume) per module, HTTP
clients at a chosen microversion, and waiting helpers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import cloudapi
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


class Api(cloudapi.Api):
    """HTTP to the volume API with a token and a microversion."""

    service_type = "volume"


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
    yield from cloudapi.cloud_factory(tmp_path_factory, Env, SERVICES, volume_conf())


@pytest.fixture(scope="module")
def env(make_env: MakeEnv) -> Env:
    return make_env()
