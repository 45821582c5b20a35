"""Unified limits used by compute and image quotas, driven with the real openstack CLI.

A cloud (identity, placement, image, compute with the fake driver) whose compute reads
its quotas from identity (``[compute] quota_driver = unified_limits``) and whose image
service does (``[image] use_keystone_limits``): registered limits and project limits
created with ``openstack registered limit create`` / ``openstack limit create`` decide
how many servers and images a project may have.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cloudproc import CloudProcess

pytestmark = pytest.mark.cli
SERVICES = ["identity", "placement", "image", "compute"]
CONF = "[compute]\nquota_driver = unified_limits\n[image]\nuse_keystone_limits = true\n"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudProcess]:
    proc = CloudProcess(Path(tmp_path_factory.mktemp("limits")), SERVICES, CONF)
    proc.start(timeout=120)
    try:
        yield proc
    finally:
        proc.stop()


def _api(cloud: CloudProcess, service: str, user: str) -> httpx.Client:
    headers = {"X-Auth-Token": cloud.token(f"tinystack-{user}")}
    if service == "compute":
        headers["OpenStack-API-Version"] = "compute latest"
    return httpx.Client(base_url=cloud.endpoint(service), headers=headers, timeout=60)


def _image(api: httpx.Client, name: str) -> httpx.Response:
    body = {"name": name, "disk_format": "raw", "container_format": "bare"}
    return api.post("/v2/images", json=body)


def _wait_active(api: httpx.Client, ids: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    pending = set(ids)
    while pending and time.monotonic() < deadline:
        for sid in list(pending):
            server = api.get(f"/servers/{sid}").json()["server"]
            assert server["status"] != "ERROR", server.get("fault")
            if server["status"] == "ACTIVE":
                pending.discard(sid)
        time.sleep(0.1)
    assert not pending, pending


def _boot(api: httpx.Client, image: str, count: int = 1) -> httpx.Response:
    body: dict[str, Any] = {
        "name": "limited",
        "flavorRef": "1",
        "imageRef": image,
        "networks": "none",
        "min_count": count,
        "max_count": count,
    }
    return api.post("/servers", json={"server": body})


def test_compute_refuses_the_eleventh_server(cloud: CloudProcess) -> None:
    created = cloud.osc(
        "registered",
        "limit",
        "create",
        "--service",
        "compute",
        "--default-limit",
        "10",
        "servers",
    )
    assert created["resource_name"] == "servers" and created["default_limit"] == 10
    demo_limit = cloud.osc(
        "limit",
        "create",
        "--project",
        "demo",
        "--service",
        "compute",
        "--resource-limit",
        "2",
        "servers",
    )
    assert demo_limit["resource_limit"] == 2
    listed = cloud.osc("limit", "list", "--service", "compute")
    assert [item["Resource Name"] for item in listed] == ["servers"]

    admin_image = _api(cloud, "image", "admin")
    image = _image(admin_image, "limits-image").json()
    admin_image.patch(
        f"/v2/images/{image['id']}",
        content=b'[{"op": "replace", "path": "/visibility", "value": "public"}]',
        headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
    ).raise_for_status()
    admin_image.put(
        f"/v2/images/{image['id']}/file",
        content=b"\0" * 1024,
        headers={"Content-Type": "application/octet-stream"},
    ).raise_for_status()

    # The admin project has no limit of its own: the registered default, 10 servers.
    admin = _api(cloud, "compute", "admin")
    response = _boot(admin, image["id"], 10)
    assert response.status_code == 202, response.text
    servers = admin.get("/servers", params={"name": "limited"}).json()["servers"]
    assert len(servers) == 10
    _wait_active(admin, [s["id"] for s in servers])
    refused = cloud.osc_raw(
        "server", "create", "--flavor", "1", "--image", image["id"], "--no-network", "eleventh"
    )
    assert refused.returncode != 0
    assert "Quota exceeded for instances" in refused.stderr, refused.stderr
    assert "10 of 10" in refused.stderr
    quota = admin.get(f"/os-quota-sets/{_project(cloud, 'admin')}").json()["quota_set"]
    assert quota["instances"] == 10

    # demo's own limit, 2, wins over the default.
    demo = _api(cloud, "compute", "demo")
    assert _boot(demo, image["id"], 2).status_code == 202
    third = _boot(demo, image["id"])
    assert third.status_code == 403 and "Quota exceeded" in third.text, third.text
    # Raising demo's limit lets a third in (after the short cache).
    cloud.osc("limit", "set", "--resource-limit", "3", demo_limit["id"])
    time.sleep(5.5)
    assert _boot(demo, image["id"]).status_code == 202


def test_image_count_limit(cloud: CloudProcess) -> None:
    cloud.osc(
        "registered",
        "limit",
        "create",
        "--service",
        "image",
        "--default-limit",
        "1",
        "image_count_total",
    )
    demo = _api(cloud, "image", "demo")
    first = _image(demo, "one")
    assert first.status_code == 201, first.text
    second = _image(demo, "two")
    assert second.status_code == 413, second.text
    assert "image_count_total" in second.text
    usage = demo.get("/v2/info/usage").json()["usage"]
    assert usage["image_count_total"] == {"limit": 1, "usage": 1}


def _project(cloud: CloudProcess, name: str) -> str:
    return str(cloud.osc("project", "show", name)["id"])


def test_cli_errors(cloud: CloudProcess) -> None:
    with pytest.raises(subprocess.CalledProcessError) as err:
        cloud.osc(
            "registered",
            "limit",
            "create",
            "--service",
            "compute",
            "--default-limit",
            "5",
            "servers",
        )
    assert "Conflict" in err.value.stderr or "409" in err.value.stderr
