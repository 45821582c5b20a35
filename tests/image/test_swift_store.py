"""The swift store in a real cloud (identity, image, object store) through the real
openstack CLI: ``[image] default_store = swift`` puts new images in the object store
(the service's account, container ``glance``) with the file store beside it; a large
image becomes segments and a manifest; ``image import --store`` stages and imports into
a chosen store; copy-image between the two; ``image save`` gives the same bytes;
deleting an image (or its data in one store) removes its objects."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cloudproc import CloudProcess
from tests.service_account import ServiceAccount

pytestmark = pytest.mark.cli
SERVICES = ["identity", "image", "object_store"]
MiB = 1024 * 1024


class Env:
    def __init__(self, cloud: CloudProcess, tmp: Path) -> None:
        self.cloud = cloud
        self.tmp = tmp
        self.account = ServiceAccount(cloud, "image")

    def objects(self, prefix: str) -> dict[str, int]:
        return self.account.objects("glance", prefix)

    def file(self, name: str, size: int) -> tuple[Path, str]:
        path = self.tmp / name
        data = os.urandom(size)
        path.write_bytes(data)
        return path, hashlib.md5(data).hexdigest()

    def saved(self, image_id: str) -> str:
        out = self.tmp / f"{image_id}.out"
        self.cloud.osc("image", "save", "--file", str(out), image_id)
        digest = hashlib.md5(out.read_bytes()).hexdigest()
        out.unlink()
        return digest

    def wait(self, image_id: str, predicate: Any) -> dict[str, Any]:
        deadline = time.monotonic() + 60
        while True:
            image: dict[str, Any] = self.cloud.osc("image", "show", image_id)
            props = image.get("properties") or {}
            merged = {**props, **image}
            if predicate(merged) or time.monotonic() > deadline:
                return merged
            time.sleep(0.3)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    conf = (
        "[image]\n"
        "default_store = swift\n"
        # 2 MiB images and up become segments of 1 MiB and a manifest
        "swift_store_large_object_size = 2\n"
        "swift_store_large_object_chunk_size = 1\n"
    )
    tmp = Path(tmp_path_factory.mktemp("swiftstore"))
    cloud = CloudProcess(tmp / "cloud", SERVICES, conf)
    cloud.start(timeout=120)
    try:
        yield Env(cloud, tmp)
    finally:
        cloud.stop()


def test_stores_listed(env: Env) -> None:
    stores = {s["ID"]: s for s in env.cloud.osc("image", "stores", "list")}
    assert set(stores) == {"swift", "file"}
    detail = env.cloud.sdk().image.get("/info/stores").json()["stores"]
    assert [s["id"] for s in detail if s.get("default")] == ["swift"]


def test_create_save_delete(env: Env) -> None:
    """``image create --file`` goes to the default store (swift): one object, or
    segments and a manifest beyond the large-object size; ``image save`` gives the same
    bytes; ``image delete`` removes every object."""
    for name, size in (("small", 300 * 1024 + 7), ("large", 3 * MiB + 12345)):
        path, md5 = env.file(f"{name}.raw", size)
        image = env.cloud.osc(
            "image", "create", "--disk-format", "raw", "--container-format", "bare",
            "--file", str(path), f"swift-{name}",
        )  # fmt: skip
        image = env.wait(image["id"], lambda i: i["status"] == "active")
        assert image["checksum"] == md5 and image["stores"] == "swift"
        objects = env.objects(image["id"])
        if name == "small":
            assert objects == {image["id"]: size}
        else:
            segments = {k: v for k, v in objects.items() if k != image["id"]}
            assert sorted(segments) == [f"{image['id']}-0000{i}" for i in (1, 2, 3)]
            assert sum(segments.values()) == size and objects[image["id"]] == 0
        assert env.saved(image["id"]) == md5
        env.cloud.osc("image", "delete", image["id"])
        assert env.objects(image["id"]) == {}


def test_import_store_and_copy(env: Env) -> None:
    """Stage, ``image import --store file``, then copy-image into swift (and back out):
    both stores serve the same bytes; deleting the data from one store leaves the
    other."""
    path, md5 = env.file("staged.raw", 2 * MiB + 99)
    conn = env.cloud.sdk()
    body = {"name": "swift-staged", "disk_format": "raw", "container_format": "bare"}
    image_id = conn.image.post("/images", json=body).json()["id"]
    env.cloud.osc("image", "stage", "--file", str(path), image_id)
    env.cloud.osc("image", "import", "--store", "file", "--method", "glance-direct", image_id)
    image = env.wait(image_id, lambda i: i["status"] == "active")
    assert image["stores"] == "file" and env.objects(image_id) == {}
    env.cloud.osc("image", "import", "--store", "swift", "--method", "copy-image", image_id)
    image = env.wait(image_id, lambda i: set(i.get("stores", "").split(",")) == {"swift", "file"})
    assert set(image["stores"].split(",")) == {"swift", "file"}
    assert len(env.objects(image_id)) == 3  # the manifest and two segments
    resp = conn.image.delete(f"/stores/file/{image_id}")
    assert resp.status_code == 204, resp.text
    image = env.wait(image_id, lambda i: i.get("stores") == "swift")
    assert image["stores"] == "swift"
    assert env.saved(image_id) == md5
    # a range across the two segments, from the object store only
    data = path.read_bytes()
    first, last = 2 * MiB - 10, 2 * MiB + 20
    ranged = conn.image.get(f"/images/{image_id}/file", headers={"Range": f"bytes={first}-{last}"})
    assert ranged.status_code == 206 and ranged.content == data[first : last + 1]
    env.cloud.osc("image", "delete", image_id)
    assert env.objects(image_id) == {}
