"""The verified image cache with real image files and the file driver's overlays."""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.volume_driver.conftest import qemu_io
from tinystack.volume.drivers import qemu_img
from tinystack.volume.drivers.base import VolumeRef
from tinystack.volume.drivers.file import FileDriver
from tinystack.volume.image_cache import ImageCache, ImageSpec, ImageVerifyError

V1 = "11111111-1111-1111-1111-111111111111"


def image_file(tmp_path: Path, name: str, fmt: str = "qcow2", pattern: int = 0x5A) -> Path:
    path = tmp_path / f"{name}.{fmt}"
    qemu_img.create(path, fmt, 32 << 20)
    qemu_io(str(path), fmt, f"write -P {pattern} 0 2M")
    return path


def spec_for(path: Path, image_id: str, disk_format: str = "qcow2") -> ImageSpec:
    data = path.read_bytes()
    return ImageSpec(
        image_id=image_id,
        disk_format=disk_format,
        size=len(data),
        checksum=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        os_hash_algo="sha512",
        os_hash_value=hashlib.sha512(data).hexdigest(),
    )


def streamer(path: Path, calls: list[int], delay: float = 0.0) -> Iterator[bytes]:
    calls.append(1)
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            time.sleep(delay)
            yield block


def test_concurrent_callers_download_once(tmp_path: Path) -> None:
    src = image_file(tmp_path, "img")
    cache = ImageCache(tmp_path / "cache", max_bytes=1 << 30)
    spec = spec_for(src, "img-1")
    calls: list[int] = []
    results: list[Path] = []

    def worker() -> None:
        with cache.use(spec, lambda: streamer(src, calls, delay=0.01)) as img:
            results.append(img.path)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1]
    assert len(set(results)) == 1 and len(results) == 4
    assert results[0].read_bytes() == src.read_bytes()
    with cache.use(spec, lambda: streamer(src, calls)) as img:
        assert img.format == "qcow2" and img.virtual_size == 32 << 20
    assert calls == [1]


@pytest.mark.parametrize("field", ["checksum", "os_hash_value", "size"])
def test_mismatch_is_refused_and_deleted(tmp_path: Path, field: str) -> None:
    src = image_file(tmp_path, "img")
    cache = ImageCache(tmp_path / "cache", max_bytes=1 << 30)
    good = spec_for(src, "img-1")
    bad = {
        "checksum": ImageSpec("img-1", "qcow2", good.size, "0" * 32),
        "os_hash_value": ImageSpec("img-1", "qcow2", good.size, None, "sha512", "0" * 128),
        "size": ImageSpec("img-1", "qcow2", 12, good.checksum),
    }[field]
    with pytest.raises(ImageVerifyError), cache.use(bad, lambda: streamer(src, [])):
        pass
    assert sorted(p.name for p in cache.directory.iterdir()) == [".lock-img-1"]


def test_unsafe_and_unverifiable_images_are_refused(tmp_path: Path) -> None:
    base = image_file(tmp_path, "base", "raw")
    chained = tmp_path / "chained.qcow2"
    qemu_img.create(chained, "qcow2", 32 << 20, backing=base, backing_fmt="raw")
    cache = ImageCache(tmp_path / "cache", max_bytes=1 << 30)
    with pytest.raises(ImageVerifyError, match="backing"):
        with cache.use(spec_for(chained, "img-2"), lambda: streamer(chained, [])):
            pass
    with pytest.raises(ImageVerifyError, match="no checksum"):
        with cache.use(ImageSpec("img-3", "raw"), lambda: streamer(base, [])):
            pass
    assert cache.entries() == []


def test_vmdk_is_converted_to_qcow2(tmp_path: Path) -> None:
    src = image_file(tmp_path, "img", "vmdk", pattern=0x6B)
    cache = ImageCache(tmp_path / "cache", max_bytes=1 << 30)
    with cache.use(spec_for(src, "img-vmdk", "vmdk"), lambda: streamer(src, [])) as img:
        assert img.format == "qcow2"
        qemu_io(str(img.path), "qcow2", "read -P 0x6b 0 2M")


def test_lru_eviction_spares_images_in_use(tmp_path: Path, qcow2_driver: FileDriver) -> None:
    cache = ImageCache(tmp_path / "cache", max_bytes=0, in_use=qcow2_driver.backing_files)
    one, two = image_file(tmp_path, "one"), image_file(tmp_path, "two", pattern=0x22)
    with cache.use(spec_for(one, "one"), lambda: streamer(one, [])) as img:
        qcow2_driver.create_volume_from_image(VolumeRef(V1, 1), img.path, img.format)
        # held: even a cache over its limit keeps it
        assert cache.evict() == []
    with cache.use(spec_for(two, "two"), lambda: streamer(two, [])):
        pass
    # over the limit after each use: "two" is free to go, "one" backs a live overlay
    assert [e[0] for e in cache.entries()] == ["one"]
    path = qcow2_driver.directory / f"volume-{V1}.qcow2"
    qemu_io(str(path), "qcow2", "read -P 0x5a 0 2M")
    qcow2_driver.delete_volume(VolumeRef(V1, 1))
    assert cache.evict() == ["one"]
    assert cache.entries() == []


def test_least_recently_used_goes_first(tmp_path: Path) -> None:
    images = {n: image_file(tmp_path, n, "raw") for n in ("a", "b", "c")}
    cache = ImageCache(tmp_path / "cache", max_bytes=1 << 40)
    for name in ("a", "b", "c", "a"):
        path = images[name]
        with cache.use(spec_for(path, name, "raw"), functools.partial(streamer, path, [])):
            time.sleep(0.01)
    one_size = max(e[2] for e in cache.entries())
    cache.max_bytes = 2 * one_size
    assert cache.evict() == ["b"]
    assert sorted(e[0] for e in cache.entries()) == ["a", "c"]
