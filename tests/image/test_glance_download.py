"""glance-download from a truly separate region: a second tinystack process runs only the
image service, registered in the first cloud's catalog as RegionTwo and trusting the
first cloud's identity (its Fernet keys, its service users' secrets, its ``auth_url``).
An image uploaded in RegionTwo is imported into RegionOne with the real SDK's
``import_image(method="glance-download")``; both regions then hold the same bytes."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cloudproc import CloudProcess

Regions = tuple[CloudProcess, CloudProcess]
IMPORT_CONF = "[image]\nenabled_import_methods = glance-direct,web-download,glance-download\n"


@pytest.fixture(scope="module")
def regions(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[CloudProcess, CloudProcess]]:
    one_dir = Path(tmp_path_factory.mktemp("region-one"))
    two_dir = Path(tmp_path_factory.mktemp("region-two"))
    one = CloudProcess(one_dir, ["identity", "image"], IMPORT_CONF)
    two: CloudProcess | None = None
    try:
        one.start(timeout=120)
        # the second region shares the first one's identity: its keys and service secrets
        two_dir.mkdir(exist_ok=True)
        shutil.copy(one_dir / "secrets.json", two_dir / "secrets.json")
        os.chmod(two_dir / "secrets.json", 0o600)
        two = CloudProcess(
            two_dir,
            ["image"],
            IMPORT_CONF
            + f"[DEFAULT]\nregion = RegionTwo\nauth_url = {one.auth_url}\n"
            + f"[token]\nkey_repository = {one_dir / 'fernet-keys'}\n",
            serve="image",
        )
        two.start(timeout=120)
        one.osc("region", "create", "RegionTwo")
        for interface in ("public", "internal"):
            one.osc(
                "endpoint", "create", "--region", "RegionTwo", "image", interface,
                two.endpoint("image"),
            )  # fmt: skip
        yield one, two
    finally:
        if two is not None:
            two.stop()
        one.stop()


def _wait_active(http: httpx.Client, image_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    image: dict[str, Any] = {}
    while time.monotonic() < deadline:
        image = http.get(f"/v2/images/{image_id}").json()
        if image["status"] == "active":
            return image
        assert image["status"] not in ("killed", "deleted"), image
        time.sleep(0.2)
    raise AssertionError(f"image {image_id} is {image.get('status')}")


def test_glance_download_from_region_two(regions: Regions) -> None:
    one, two = regions
    token = one.token("tinystack-demo")
    headers = {"X-Auth-Token": token}
    region_one = httpx.Client(base_url=one.endpoint("image"), headers=headers, timeout=60)
    region_two = httpx.Client(base_url=two.endpoint("image"), headers=headers, timeout=60)

    # the catalog lists RegionTwo's image service, and it accepts RegionOne's tokens
    catalog = one.osc("catalog", "show", "image", cloud="tinystack-demo")
    assert "RegionTwo" in str(catalog["endpoints"])
    data = os.urandom(3 * 1024 * 1024 + 17)
    remote = region_two.post(
        "/v2/images",
        json={"name": "in-region-two", "disk_format": "raw", "container_format": "bare",
              "os_distro": "debian"},
    ).json()  # fmt: skip
    put = region_two.put(
        f"/v2/images/{remote['id']}/file",
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert put.status_code == 204, put.text
    remote = _wait_active(region_two, remote["id"])
    assert region_one.get(f"/v2/images/{remote['id']}").status_code == 404  # truly apart

    # import it into RegionOne with the SDK, as a user would
    sdk = one.sdk("tinystack-demo")
    local = sdk.image.create_image(name="from-region-two", disk_format="raw",
                                   container_format="bare")  # fmt: skip
    sdk.image.import_image(
        local, method="glance-download", remote_region="RegionTwo",
        remote_image_id=remote["id"], remote_service_interface="public",
    )  # fmt: skip
    imported = _wait_active(region_one, local.id)
    assert imported["checksum"] == remote["checksum"] == hashlib.md5(data).hexdigest()
    assert imported["os_hash_value"] == remote["os_hash_value"]
    assert imported["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert imported["size"] == len(data)
    assert region_one.get(f"/v2/images/{local.id}/file").content == data

    # a region the catalog does not know fails the import task, never the API
    other = region_one.post(
        "/v2/images", json={"name": "nowhere", "disk_format": "raw", "container_format": "bare"}
    ).json()
    started = region_one.post(
        f"/v2/images/{other['id']}/import",
        json={"method": {"name": "glance-download", "glance_region": "RegionNine",
                         "glance_image_id": remote["id"]}},
    )  # fmt: skip
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 30
    task: dict[str, Any] = {}
    while time.monotonic() < deadline:
        tasks = region_one.get(f"/v2/images/{other['id']}/tasks").json()["tasks"]
        task = tasks[0] if tasks else {}
        if task.get("status") in ("success", "failure"):
            break
        time.sleep(0.2)
    assert task.get("status") == "failure" and "RegionNine" in task["message"], task
    assert region_one.get(f"/v2/images/{other['id']}").json()["status"] == "queued"
