"""The cinder store in a real cloud (identity, image, volume): each image's data in its
own volume of the service project, written and read through attachments to this host
(the volume's file on the storage host, an NBD export for a connector naming another
host); copy-image between the file and cinder stores, deleting from one store."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cloudproc import CloudProcess, free_port

SERVICES = ["identity", "image", "volume"]


class Env:
    def __init__(self, cloud: CloudProcess) -> None:
        self.cloud = cloud
        token = cloud.token()
        self.image = httpx.Client(
            base_url=cloud.endpoint("image"), headers={"X-Auth-Token": token}, timeout=120
        )
        self.volume = httpx.Client(
            base_url=cloud.endpoint("block-storage"),
            headers={"X-Auth-Token": token, "OpenStack-API-Version": "volume 3.54"},
            timeout=60,
        )

    def create(self, name: str) -> str:
        body = {"name": name, "disk_format": "raw", "container_format": "bare"}
        resp = self.image.post("/v2/images", json=body)
        assert resp.status_code == 201, resp.text
        return str(resp.json()["id"])

    def upload(self, image_id: str, data: bytes, store: str) -> None:
        headers = {"Content-Type": "application/octet-stream", "X-Image-Meta-Store": store}
        resp = self.image.put(f"/v2/images/{image_id}/file", content=data, headers=headers)
        assert resp.status_code == 204, resp.text

    def show(self, image_id: str) -> dict[str, Any]:
        resp = self.image.get(f"/v2/images/{image_id}")
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    def download(self, image_id: str) -> bytes:
        resp = self.image.get(f"/v2/images/{image_id}/file")
        assert resp.status_code == 200, resp.text
        return resp.content

    def volumes_of(self, image_id: str) -> list[dict[str, Any]]:
        """The image's volumes (in the service project: listed across projects)."""
        params = {"all_tenants": "1", "name": f"image-{image_id}"}
        resp = self.volume.get("/volumes/detail", params=params)
        assert resp.status_code == 200, resp.text
        return [v for v in resp.json()["volumes"] if v["status"] != "deleting"]

    def wait_volumes(self, image_id: str, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.volumes_of(image_id)) != count:
            assert time.monotonic() < deadline, self.volumes_of(image_id)
            time.sleep(0.1)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    conf = (
        "[image]\n"
        "enabled_backends = file:file,vol:cinder,remote:cinder\n"
        "default_backend = file\n"
        "backend_connector_hosts = remote:image-host-elsewhere\n"
        "[volume]\n"
        "report_interval = 1\n"
        "file_capacity_gb = 100\n"
        f"nbd_port = {free_port()}\n"
    )
    cloud = CloudProcess(Path(tmp_path_factory.mktemp("cinderstore")), SERVICES, conf)
    cloud.start(timeout=120)
    try:
        yield Env(cloud)
    finally:
        cloud.stop()


@pytest.mark.parametrize("store", ["vol", "remote"])
def test_upload_download_delete(env: Env, store: str) -> None:
    """Data round-trips through a volume (``vol``: the qcow2 file on this storage host;
    ``remote``: an NBD export); the volume is the service project's; deleting the
    image deletes the volume."""
    data = os.urandom(3 * 1024 * 1024 + 123)
    image_id = env.create(f"cinder-{store}")
    env.upload(image_id, data, store)
    image = env.show(image_id)
    assert image["status"] == "active" and image["stores"] == store
    assert image["checksum"] == hashlib.md5(data).hexdigest()
    (volume,) = env.volumes_of(image_id)
    assert volume["status"] == "available" and volume["size"] == 1
    assert volume["metadata"]["image_size"] == str(len(data))
    params = {"volume_id": volume["id"], "all_tenants": "1"}
    attachments = env.volume.get("/attachments", params=params)
    assert attachments.json()["attachments"] == []
    assert env.download(image_id) == data
    ranged = env.image.get(f"/v2/images/{image_id}/file", headers={"Range": "bytes=1000-1999"})
    assert ranged.status_code == 206 and ranged.content == data[1000:2000]
    # the download's attachment is removed once the body is sent
    deadline = time.monotonic() + 20
    while [v["status"] for v in env.volumes_of(image_id)] != ["available"]:
        assert time.monotonic() < deadline, env.volumes_of(image_id)
        time.sleep(0.1)
    assert env.image.delete(f"/v2/images/{image_id}").status_code == 204
    env.wait_volumes(image_id, 0)


@pytest.mark.parametrize(("store", "kind"), [("vol", "file"), ("remote", "nbd")])
def test_connection_kind(env: Env, store: str, kind: str) -> None:
    """While a download streams, the volume is attached to this host: as its file on
    the storage host, as an NBD export for a connector naming another host."""
    data = os.urandom(32 * 1024 * 1024)
    image_id = env.create(f"cinder-kind-{store}")
    env.upload(image_id, data, store)
    (volume,) = env.volumes_of(image_id)
    with env.image.stream("GET", f"/v2/images/{image_id}/file") as resp:
        body = resp.iter_bytes()
        first = next(body)
        params = {"volume_id": volume["id"], "all_tenants": "1"}
        found = env.volume.get("/attachments/detail", params=params)
        (attachment,) = found.json()["attachments"]
        assert attachment["connection_info"]["driver_volume_type"] == kind
        rest = b"".join(body)
    assert hashlib.sha256(first + rest).digest() == hashlib.sha256(data).digest()
    assert env.image.delete(f"/v2/images/{image_id}").status_code == 204
    env.wait_volumes(image_id, 0)


def test_copy_between_stores_and_delete_from_one(env: Env) -> None:
    data = os.urandom(2 * 1024 * 1024)
    image_id = env.create("cinder-copy")
    env.upload(image_id, data, "file")
    body = {"method": {"name": "copy-image"}, "stores": ["vol", "remote"]}
    resp = env.image.post(f"/v2/images/{image_id}/import", json=body)
    assert resp.status_code == 202, resp.text
    deadline = time.monotonic() + 60
    while set(env.show(image_id)["stores"].split(",")) != {"file", "vol", "remote"}:
        assert time.monotonic() < deadline, env.show(image_id)
        time.sleep(0.2)
    assert len(env.volumes_of(image_id)) == 2
    # drop the file copy: downloads now come from a volume
    assert env.image.delete(f"/v2/stores/file/{image_id}").status_code == 204
    assert env.download(image_id) == data
    # drop one volume copy: its volume goes, the other stays
    assert env.image.delete(f"/v2/stores/vol/{image_id}").status_code == 204
    env.wait_volumes(image_id, 1)
    assert env.show(image_id)["stores"] == "remote"
    assert env.download(image_id) == data
    # and back from the volume into the file store
    body = {"method": {"name": "copy-image"}, "stores": ["file"]}
    assert env.image.post(f"/v2/images/{image_id}/import", json=body).status_code == 202
    deadline = time.monotonic() + 60
    while "file" not in env.show(image_id)["stores"].split(","):
        assert time.monotonic() < deadline, env.show(image_id)
        time.sleep(0.2)
    assert env.image.delete(f"/v2/stores/remote/{image_id}").status_code == 204
    env.wait_volumes(image_id, 0)
    assert env.download(image_id) == data
    assert env.image.delete(f"/v2/images/{image_id}").status_code == 204


def test_stores_info(env: Env) -> None:
    stores = env.image.get("/v2/info/stores/detail").json()["stores"]
    by_id = {s["id"]: s for s in stores}
    assert by_id["vol"]["type"] == "cinder" and by_id["remote"]["type"] == "cinder"
