"""One cloud for the dashboard's tests (API and browser): identity, placement, image,
compute (fake driver), network and the dashboard; a public image and the demo's key pair
exist, as a user would have them before opening the console."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cloudproc import CloudProcess

SERVICES = ["identity", "placement", "image", "compute", "network", "dashboard"]
API = "/api/openstack/skyline/api/v1"
#: a browser test's consoles (``test_console.Console``), for its report if it fails
CONSOLES = pytest.StashKey[list[Any]]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed console test's report says what each of its pages showed then (the
    pages are still open: the report is made before the fixtures are torn down)."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call" and report.failed:
        for console in item.stash.get(CONSOLES, []):
            report.sections.append((f"console of {console.user}", console.diagnosis()))


@dataclass
class Dashboard:
    cloud: CloudProcess
    url: str

    def password(self, user: str) -> str:
        return self.cloud.password(user)

    def secret(self) -> str:
        """The dashboard's secret (its entry in secrets.json): what signs sessions."""
        secrets: dict[str, str] = json.loads((self.cloud.state_dir / "secrets.json").read_text())
        return secrets["dashboard"]

    def login(self, user: str) -> httpx.Client:
        """A client holding ``user``'s session."""
        client = httpx.Client(base_url=self.url, timeout=60)
        body = {"username": user, "password": self.password(user), "domain": "Default"}
        response = client.post(API + "/login", json=body)
        assert response.status_code == 200, response.text
        return client

    def through(self, client: httpx.Client, service: str) -> str:
        """The pass-through prefix of a service (from the profile's endpoints map)."""
        profile: dict[str, Any] = client.get(API + "/profile").json()
        return str(profile["endpoints"][service])


@pytest.fixture(scope="package")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    cloud = CloudProcess(tmp_path_factory.mktemp("dashboard-cloud"), SERVICES)
    cloud.start()
    try:
        env = Dashboard(cloud, f"http://127.0.0.1:{cloud.ports['dashboard']}")
        _seed(env, tmp_path_factory.mktemp("dashboard-seed"))
        yield env
    finally:
        cloud.stop()


def _seed(env: Dashboard, tmp: Path) -> None:
    admin = env.login("admin")
    glance = env.through(admin, "glance")
    image = admin.post(
        glance + "/v2/images",
        json={"name": "cirros", "disk_format": "raw", "container_format": "bare",
              "visibility": "public"},
    )  # fmt: skip
    assert image.status_code == 201, image.text
    upload = admin.put(
        f"{glance}/v2/images/{image.json()['id']}/file",
        content=b"\0" * 65536,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert upload.status_code == 204, upload.text
    demo = env.login("demo")
    nova = env.through(demo, "nova")
    key = demo.post(nova + "/v2.1/os-keypairs", json={"keypair": {"name": "demokey"}})
    assert key.status_code in (200, 201), key.text
