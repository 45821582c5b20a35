"""Fixtures for compute tests: a real cloud (identity, placement, image, compute) per module,
and a small HTTP client speaking a chosen microversion."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests import cloudapi
from tests.cloudproc import CloudProcess

SERVICES = ["identity", "placement", "image", "compute"]


class Api(cloudapi.Api):
    """HTTP to one service with a token and (for compute) a microversion."""

    service_type = "compute"


class Env:
    """A running cloud plus clients for the admin and demo users."""

    def __init__(self, cloud: CloudProcess) -> None:
        self.cloud = cloud
        self.admin_token = cloud.token("tinystack-admin")
        self.demo_token = cloud.token("tinystack-demo")
        self.compute = Api(cloud.endpoint("compute"), self.admin_token)
        self.demo = Api(cloud.endpoint("compute"), self.demo_token)
        self.placement = Api(cloud.endpoint("placement"), self.admin_token, None)
        self.placement.http.headers["OpenStack-API-Version"] = "placement 1.39"
        self.image_api = Api(cloud.endpoint("image"), self.admin_token, None)
        self._image: str | None = None

    @property
    def image(self) -> str:
        if self._image is None:
            created = self.image_api.post(
                "/v2/images",
                {
                    "name": "test-image",
                    "disk_format": "raw",
                    "container_format": "bare",
                    "visibility": "public",
                },
                201,
            ).json()
            self.image_api.put(
                f"/v2/images/{created['id']}/file",
                status=204,
                content=b"\0" * 4096,
                headers={"Content-Type": "application/octet-stream"},
            )
            self._image = str(created["id"])
        return self._image

    def boot(self, api: Api | None = None, wait: bool = True, **server: Any) -> dict[str, Any]:
        api = api or self.compute
        body = {
            "name": "vm",
            "flavorRef": "1",
            "imageRef": self.image,
            "networks": "none",
            **server,
        }
        created = api.post("/servers", {"server": body}, 202).json()["server"]
        if wait:
            return self.wait(created["id"], "ACTIVE", "ERROR", api=api)
        return dict(created)

    def wait(
        self, sid: str, *statuses: str, api: Api | None = None, timeout: float = 30
    ) -> dict[str, Any]:
        api = api or self.compute
        deadline = time.monotonic() + timeout
        server: dict[str, Any] = {}
        while time.monotonic() < deadline:
            response = api.get(f"/servers/{sid}", None)
            if response.status_code == 404 and "DELETED" in statuses:
                return {"status": "DELETED"}
            server = dict(response.json()["server"])
            if server["status"] in statuses and server["OS-EXT-STS:task_state"] is None:
                return server
            time.sleep(0.05)
        raise AssertionError(
            f"{sid} is {server.get('status')}, wanted {statuses}: {server.get('fault')}; "
            f"last action: {self.last_action(sid, api)}"
        )

    def last_action(self, sid: str, api: Api) -> Any:
        actions = api.get(f"/servers/{sid}/os-instance-actions", None).json()
        if not actions.get("instanceActions"):
            return None
        rid = actions["instanceActions"][0]["request_id"]
        return api.get(f"/servers/{sid}/os-instance-actions/{rid}", None).json()

    def usages(self) -> dict[str, dict[str, int]]:
        """Placement usage per resource provider name."""
        found = {}
        for rp in self.placement.get("/resource_providers").json()["resource_providers"]:
            usage = self.placement.get(f"/resource_providers/{rp['uuid']}/usages").json()
            found[rp["name"]] = usage["usages"]
        return found


MakeEnv = Callable[..., Env]


@pytest.fixture(scope="module")
def make_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeEnv]:
    yield from cloudapi.cloud_factory(tmp_path_factory, Env, SERVICES)


@pytest.fixture(scope="module")
def env(make_env: MakeEnv) -> Env:
    return make_env("[compute]\nfake_hosts = 2\n")
