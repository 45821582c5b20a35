"""Volumes from images: through the verified image cache, copy-on-write, bootable, with
the image's metadata; the CLI's ``volume create --image``; bad images refused."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.volume.conftest import Env


@pytest.fixture(scope="module")
def image(env: Env, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 64 MiB qcow2 image with a recognisable first block."""
    work = Path(tmp_path_factory.mktemp("image"))
    raw = work / "disk.raw"
    with raw.open("wb") as f:
        f.write(b"tinystack-volume-image".ljust(4096, b"\0"))
        f.truncate(64 * 1024**2)
    qcow = work / "disk.qcow2"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow)],
                   check=True)  # fmt: skip
    created = env.cloud.osc("image", "create", "--disk-format", "qcow2", "--container-format",
                            "bare", "--public", "--file", str(qcow), "--property",
                            "os_distro=tinyos", "vol-src")  # fmt: skip
    return str(created["id"])


def test_volume_from_image(env: Env, image: str, tmp_path: Path) -> None:
    vol = env.create(imageRef=image, size=1)
    assert vol["bootable"] == "true"
    meta = vol["volume_image_metadata"]
    assert meta["image_id"] == image and meta["os_distro"] == "tinyos"
    assert meta["disk_format"] == "qcow2"
    info = json.loads(
        subprocess.run(
            ["qemu-img", "info", "--output=json", "-U", str(env.volume_file(vol["id"]))],
            capture_output=True,
            text=True,
            check=True,
        ).stdout  # fmt: skip
    )
    assert info["virtual-size"] == 1024**3
    assert info["backing-filename"].endswith(image)
    head = tmp_path / "head"
    subprocess.run(
        ["qemu-img", "dd", "-U", "-f", "qcow2", "-O", "raw", "bs=4096", "count=1",
         f"if={env.volume_file(vol['id'])}", f"of={head}"],
        capture_output=True, check=True,
    )  # fmt: skip
    assert head.read_bytes().startswith(b"tinystack-volume-image")
    second = env.create(imageRef=image, size=2, name="from-image-2")
    assert second["volume_image_metadata"]["image_id"] == image
    clone = env.create(source_volid=vol["id"], size=None)
    assert clone["volume_image_metadata"]["image_id"] == image and clone["bootable"] == "true"
    for v in (vol, second, clone):
        env.demo.delete(f"/volumes/{v['id']}", 202)


def test_cli_volume_create_from_image(env: Env, image: str) -> None:
    created = env.cloud.osc("volume", "create", "--image", image, "--size", "1", "--bootable",
                            "cli-from-image", cloud="tinystack-demo")  # fmt: skip
    vol = env.wait(created["id"], "available")
    assert vol["bootable"] == "true"
    env.cloud.osc("volume", "delete", vol["id"], cloud="tinystack-demo")


def test_bad_images(env: Env, image: str) -> None:
    env.demo.post("/volumes", {"volume": {"size": 1, "imageRef": "no-such-image"}}, 400)
    big = env.cloud.osc("image", "create", "--disk-format", "raw", "--container-format", "bare",
                        "--min-disk", "5", "--public", "needs-5g")  # fmt: skip
    env.demo.post("/volumes", {"volume": {"size": 1, "imageRef": big["id"]}}, 400)
    env.cloud.osc("image", "delete", big["id"])
