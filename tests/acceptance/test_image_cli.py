"""Image acceptance with the real openstack CLI and openstacksdk against ``tinystack up``."""

from __future__ import annotations

import hashlib
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.cloudproc import CloudProcess
from tests.image import imagefiles

pytestmark = pytest.mark.cli


@pytest.fixture(autouse=True)
def _needs_image(cloud: CloudProcess) -> None:
    if "image" not in cloud.services:
        pytest.skip("the image service is not part of this cloud")


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_image_life_cycle_with_the_cli(cloud: CloudProcess, tmp_path: Path) -> None:
    data = imagefiles.qcow2(32 * 1024 * 1024)
    source = tmp_path / "disk.qcow2"
    source.write_bytes(data)
    name = _name("cirros")

    created = cloud.osc(
        "image", "create", "--file", str(source), "--disk-format", "qcow2",
        "--container-format", "bare", "--property", "purpose=cirros", name,
    )  # fmt: skip
    image_id = created["id"]
    assert created["status"] == "active"
    assert created["checksum"] == hashlib.md5(data).hexdigest()
    assert created["size"] == len(data)
    assert created["virtual_size"] == 32 * 1024 * 1024

    listed = cloud.osc("image", "list", "--name", name, "--status", "active", "--long")
    assert [row["ID"] for row in listed] == [image_id]
    assert listed[0]["Disk Format"] == "qcow2"
    assert cloud.osc("image", "list", "--property", "purpose=nothing") == []

    shown = cloud.osc("image", "show", name)
    assert shown["id"] == image_id and shown["disk_format"] == "qcow2"
    assert shown["properties"]["purpose"] == "cirros"

    saved = tmp_path / "saved.qcow2"
    cloud.osc("image", "save", "--file", str(saved), name)
    assert saved.read_bytes() == data

    cloud.osc("image", "set", "--property", "stage=testing", "--name", name + "-2", name)
    cloud.osc("image", "unset", "--property", "purpose", name + "-2")
    image = cloud.sdk().image.get_image(image_id)
    assert image.name == name + "-2"
    assert image.properties["stage"] == "testing" and "purpose" not in image.properties

    cloud.osc("image", "set", "--deactivate", image_id)
    assert cloud.sdk().image.get_image(image_id).status == "deactivated"
    cloud.osc("image", "set", "--activate", image_id)
    assert cloud.sdk().image.get_image(image_id).status == "active"

    cloud.osc("image", "delete", image_id)
    with pytest.raises(subprocess.CalledProcessError):
        cloud.osc("image", "show", image_id)


def test_sharing_with_the_cli(cloud: CloudProcess, tmp_path: Path) -> None:
    source = tmp_path / "disk.raw"
    source.write_bytes(imagefiles.raw(65536))
    name = _name("shared")
    image = cloud.osc(
        "image", "create", "--file", str(source), "--disk-format", "raw",
        "--container-format", "bare", "--shared", name,
    )  # fmt: skip
    demo = cloud.sdk("tinystack-demo")
    assert image["id"] not in {i.id for i in demo.image.images()}

    cloud.osc("image", "add", "project", image["id"], "demo")
    cloud.osc("image", "set", "--accept", image["id"], cloud="tinystack-demo")
    assert image["id"] in {i.id for i in demo.image.images()}
    members = cloud.sdk().image.members(image["id"])
    assert [(m.status) for m in members] == ["accepted"]
    cloud.sdk().image.delete_image(image["id"])


def test_sdk_upload_download_and_import(cloud: CloudProcess, tmp_path: Path) -> None:
    conn = cloud.sdk("tinystack-demo")
    data = imagefiles.qcow2(16 * 1024 * 1024, size=3 * 1024 * 1024 + 17)
    source = tmp_path / "sdk.qcow2"
    source.write_bytes(data)

    image = conn.image.create_image(
        _name("sdk"), filename=str(source), disk_format="qcow2", container_format="bare"
    )
    image = conn.image.get_image(image.id)
    assert image.status == "active"
    assert image.checksum == hashlib.md5(data).hexdigest()
    assert image.hash_algo == "sha512" and image.hash_value == hashlib.sha512(data).hexdigest()
    target = tmp_path / "downloaded"
    conn.image.download_image(image, output=str(target))  # verifies the hash
    assert target.read_bytes() == data

    imported = conn.image.create_image(
        _name("imported"),
        filename=str(source),
        disk_format="qcow2",
        container_format="bare",
        use_import=True,
    )
    imported = conn.image.wait_for_status(imported, "active", wait=30)
    assert imported.checksum == hashlib.md5(data).hexdigest()

    bad = conn.image.create_image(_name("bad"), disk_format="qcow2", container_format="bare")
    resp = conn.image.put(
        f"/images/{bad.id}/file",
        data=imagefiles.raw(8192),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert resp.status_code == 400  # the content is not qcow2
    assert conn.image.get_image(bad.id).status == "queued"

    for img in (image, imported, bad):
        conn.image.delete_image(img)
