"""The image service's newer APIs through the real openstack CLI, against ``tinystack up``:
web-download import from a local web server, import into a chosen store, stores, metadefs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cloudproc import CloudProcess
from tests.image import imagefiles
from tests.image.webserver import WebServer, web_server

pytestmark = pytest.mark.cli


@pytest.fixture(scope="module")
def web() -> Iterator[WebServer]:
    with web_server() as server:
        yield server


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory, web: WebServer) -> Iterator[CloudProcess]:
    conf = "\n".join(
        [
            "[DEFAULT]",
            "outbound_allowed_networks = 127.0.0.1/32",  # loopback is denied by default
            "[image]",
            "enabled_backends = fast:file,cheap:file",
            "import_allowed_hosts = 127.0.0.1",
            f"import_allowed_ports = {web.port}",
            "",
        ]
    )
    proc = CloudProcess(Path(tmp_path_factory.mktemp("imgcli")), ["identity", "image"], conf)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def _wait(cloud: CloudProcess, image_id: str, predicate: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        image: dict[str, Any] = cloud.osc("image", "show", image_id)
        if predicate(image) or time.monotonic() > deadline:
            return image
        time.sleep(0.3)


def _queued(cloud: CloudProcess, name: str, disk_format: str) -> dict[str, Any]:
    conn = cloud.sdk()
    body = {"name": name, "disk_format": disk_format, "container_format": "bare"}
    image: dict[str, Any] = conn.image.post("/images", json=body).json()
    assert image["status"] == "queued"
    return image


def _props(image: dict[str, Any]) -> dict[str, Any]:
    props = image.get("properties") or {}
    return {**image, **props} if isinstance(props, dict) else image


def test_web_download_and_store_import(cloud: CloudProcess, web: WebServer) -> None:
    web.files["/img.qcow2"] = imagefiles.qcow2()
    name = f"web-{uuid.uuid4().hex[:8]}"
    # python-openstackclient 10 has no "image create --import-method" (and its "image create"
    # uploads stdin when it is not a terminal): the queued image comes from the SDK
    created = _queued(cloud, name, "qcow2")
    cloud.osc(
        "image", "import", "--store", "cheap", "--method", "web-download",
        "--uri", web.url("/img.qcow2"), created["id"],
    )  # fmt: skip
    image = _props(_wait(cloud, created["id"], lambda i: i["status"] == "active"))
    assert image["status"] == "active"
    assert image["stores"] == "cheap"
    stores = cloud.osc("image", "stores", "list")
    assert {s["ID"] for s in stores} == {"fast", "cheap"}
    # glance-direct: stage, then import into a chosen store
    staged_name = f"staged-{uuid.uuid4().hex[:8]}"
    staged = _queued(cloud, staged_name, "raw")
    data = Path(cloud.state_dir) / "staged.raw"
    data.write_bytes(imagefiles.raw(8192))
    cloud.osc("image", "stage", "--file", str(data), staged["id"])
    cloud.osc("image", "import", "--store", "fast", "--method", "glance-direct", staged["id"])
    shown = _props(_wait(cloud, staged["id"], lambda i: i["status"] == "active"))
    assert shown["stores"] == "fast"
    cloud.osc("image", "delete", created["id"], staged["id"])


def test_metadef_namespaces(cloud: CloudProcess) -> None:
    name = f"OS::Test::{uuid.uuid4().hex[:8]}"
    created = cloud.osc(
        "image", "metadef", "namespace", "create", "--public", "--description", "test", name
    )
    assert created["namespace"] == name
    listed = cloud.osc("image", "metadef", "namespace", "list")
    assert name in {n["namespace"] for n in listed}
    types = cloud.osc("image", "metadef", "resource", "type", "list")
    assert "OS::Glance::Image" in {t["Name"] for t in types}
    cloud.osc("image", "metadef", "namespace", "delete", name)
    listed = cloud.osc("image", "metadef", "namespace", "list")
    assert name not in {n["namespace"] for n in listed}
