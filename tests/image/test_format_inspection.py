"""Uploaded content must match its disk_format and be safe; virtual_size comes from headers."""

from __future__ import annotations

import pytest

from tests.image import imagefiles
from tests.image.conftest import Api, MakeApi
from tinystack.image.exception import InvalidImageData
from tinystack.image.services.format_inspection import Inspection, StreamInspector, verdict

MiB = 1024 * 1024


def inspect(data: bytes, chunk: int = 5000) -> Inspection:
    inspector = StreamInspector()
    for start in range(0, len(data), chunk):
        inspector.feed(data[start : start + chunk])
    return inspector.finish()


@pytest.mark.parametrize(
    ("disk_format", "data", "virtual_size"),
    [
        ("qcow2", imagefiles.qcow2(10 * MiB), 10 * MiB),
        ("qcow2", imagefiles.qcow2(3 * MiB, version=2), 3 * MiB),
        ("vmdk", imagefiles.vmdk(8 * MiB), 8 * MiB),
        ("vhd", imagefiles.vhd(5 * MiB), 5 * MiB),
        ("vhdx", imagefiles.vhdx(7 * MiB), 7 * MiB),
        ("iso", imagefiles.iso(100), 100 * 2048),
        ("raw", imagefiles.raw(8192), 8192),
        ("raw", imagefiles.mbr_disk(65536), 65536),
        ("raw", imagefiles.iso(64), 64 * 2048),
    ],
)
def test_matching_content_is_accepted(
    api: Api, disk_format: str, data: bytes, virtual_size: int
) -> None:
    image = api.create(disk_format=disk_format)
    resp = api.upload(image["id"], data)
    assert resp.status_code == 204, resp.text
    shown = api.show(image["id"]).json()
    assert shown["virtual_size"] == virtual_size
    assert shown["size"] == len(data)


@pytest.mark.parametrize(
    ("disk_format", "data"),
    [
        ("qcow2", imagefiles.raw(100_000)),
        ("qcow2", imagefiles.vmdk()),
        ("vmdk", imagefiles.qcow2()),
        ("vhd", imagefiles.raw(4096)),
        ("vhdx", imagefiles.vhd()),
        ("iso", imagefiles.raw(200_000)),
        ("raw", imagefiles.qcow2()),
        ("raw", imagefiles.vmdk()),
        ("ami", imagefiles.qcow2()),
        ("qcow2", imagefiles.qcow2(backing_file=b"/etc/shadow")),
        ("qcow2", imagefiles.qcow2(data_file=True)),
        ("raw", imagefiles.qcow2(backing_file=b"/etc/shadow")),
        ("vmdk", imagefiles.vmdk(extent="/etc/shadow")),
        ("qcow2", imagefiles.qcow2()[:20]),
    ],
)
def test_mismatched_or_unsafe_content_is_refused(api: Api, disk_format: str, data: bytes) -> None:
    image = api.create(disk_format=disk_format)
    resp = api.upload(image["id"], data)
    assert resp.status_code == 400, resp.text
    shown = api.show(image["id"]).json()
    assert shown["status"] == "queued"
    assert shown["virtual_size"] is None


@pytest.mark.parametrize("disk_format", ["ami", "aki", "ari", "ploop"])
def test_uninspectable_formats_take_unrecognised_data(api: Api, disk_format: str) -> None:
    image = api.create(disk_format=disk_format)
    assert api.upload(image["id"], imagefiles.raw(4096)).status_code == 204
    assert api.show(image["id"]).json()["virtual_size"] is None


def test_only_bare_containers_are_inspected(api: Api) -> None:
    image = api.create(disk_format="qcow2", container_format="ova")
    assert api.upload(image["id"], imagefiles.raw(4096)).status_code == 204


def test_mismatch_can_be_allowed_but_unsafe_never(make_api: MakeApi) -> None:
    api = make_api(**{"image.require_image_format_match": False})
    image = api.create(disk_format="qcow2")
    assert api.upload(image["id"], imagefiles.raw(4096)).status_code == 204
    assert api.show(image["id"]).json()["virtual_size"] is None
    unsafe = api.create(disk_format="qcow2")
    bad = imagefiles.qcow2(backing_file=b"/etc/shadow")
    assert api.upload(unsafe["id"], bad).status_code == 400


def test_inspection_is_independent_of_chunking() -> None:
    data = imagefiles.vhdx(9 * MiB)
    results = [inspect(data, size) for size in (97, 511, 4096, 65536, len(data))]
    assert len({(r.formats, r.virtual_sizes["vhdx"]) for r in results}) == 1


def test_several_formats_is_an_error() -> None:
    both = Inspection(("qcow2", "vhd"), 100, {"qcow2": 1, "vhd": 2})
    with pytest.raises(InvalidImageData):
        verdict(both, "qcow2", "bare")
    bootable_iso = Inspection(("gpt", "iso"), 100, {"gpt": 100, "iso": 4096})
    assert verdict(bootable_iso, "iso", "bare") == 4096


def test_inspection_round_trips() -> None:
    result = inspect(imagefiles.qcow2(backing_file=b"x"))
    assert Inspection.from_dict(result.to_dict()) == result
    assert "backing" in result.failures["qcow2"]
