"""The file driver on real files with real qemu-img / qemu-io (no mocks)."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.volume_driver.conftest import qemu_io
from tinystack.volume.drivers import qemu_img
from tinystack.volume.drivers.base import SnapshotRef, VolumeRef
from tinystack.volume.drivers.errors import ImageTooLarge, InvalidReference, VolumeNotFound
from tinystack.volume.drivers.file import FileDriver
from tinystack.volume.drivers.mapped_image import PreallocatedImageFile, never_written
from tinystack.volume.drivers.qemu_img import GiB

V1 = "11111111-1111-1111-1111-111111111111"
V2 = "22222222-2222-2222-2222-222222222222"
V3 = "33333333-3333-3333-3333-333333333333"
S1 = "aaaaaaaa-1111-1111-1111-111111111111"


def vpath(driver: FileDriver, volume_id: str) -> Path:
    return driver.directory / f"volume-{volume_id}.{driver.volume_format}"


def make_image(tmp_path: Path, fmt: str = "qcow2", size_mb: int = 64) -> Path:
    """A small image: pattern 0x5a in its first 4 MiB."""
    path = tmp_path / f"image.{fmt}"
    qemu_img.create(path, fmt, size_mb << 20)
    qemu_io(str(path), fmt, "write -P 0x5a 0 4M")
    return path


def test_create_is_sparse_and_idempotent(driver: FileDriver) -> None:
    location = driver.create_volume(VolumeRef(V1, 2))
    path = vpath(driver, V1)
    assert location == path.name
    info = qemu_img.info(path, driver.volume_format)
    assert info.virtual_size == 2 * GiB
    assert path.stat().st_blocks * 512 < 4 << 20  # nothing written, nothing zeroed
    assert driver.create_volume(VolumeRef(V1, 2)) == location  # a replay finds it done
    assert driver.volume_ids() == [V1]
    qemu_io(str(path), driver.volume_format, "read -P 0 0 1M")


def test_half_built_file_is_removed_on_setup(driver: FileDriver) -> None:
    leftover = driver.directory / f".tmp-volume-{V1}.qcow2"
    leftover.write_bytes(b"partial")
    driver.close()
    driver.do_setup()
    assert not leftover.exists()
    assert driver.volume_ids() == []


def test_from_image_is_copy_on_write(driver: FileDriver, tmp_path: Path) -> None:
    image = make_image(tmp_path)
    driver.create_volume_from_image(VolumeRef(V1, 1), image, "qcow2")
    path = vpath(driver, V1)
    info = qemu_img.info(path, driver.volume_format)
    assert info.virtual_size == GiB
    if driver.volume_format == "qcow2":
        assert info.backing_file == str(image.resolve())
        assert path.stat().st_size < 1 << 20  # only the overlay's metadata
        assert driver.backing_files() == {image.resolve()}
    else:
        assert info.backing_file is None
        assert driver.backing_files() == set()
    qemu_io(str(path), driver.volume_format, "read -P 0x5a 0 4M")
    qemu_io(str(path), driver.volume_format, "read -P 0 4M 1M")


def test_from_image_too_large(driver: FileDriver, tmp_path: Path) -> None:
    image = make_image(tmp_path, "raw", size_mb=1100)
    with pytest.raises(ImageTooLarge):
        driver.create_volume_from_image(VolumeRef(V1, 1), image, "raw")
    assert driver.volume_ids() == []


def test_clone_survives_deleting_its_source(driver: FileDriver, tmp_path: Path) -> None:
    image = make_image(tmp_path)
    driver.create_volume_from_image(VolumeRef(V1, 1), image, "qcow2")
    src = vpath(driver, V1)
    qemu_io(str(src), driver.volume_format, "write -P 0x77 8M 2M")
    driver.create_cloned_volume(VolumeRef(V2, 2), VolumeRef(V1, 1))
    clone = vpath(driver, V2)
    info = qemu_img.info(clone, driver.volume_format)
    assert info.virtual_size == 2 * GiB
    # the clone refers to the shared image at most, never to its source volume
    assert info.backing_file in (None, str(image.resolve()))
    driver.delete_volume(VolumeRef(V1, 1))
    driver.delete_volume(VolumeRef(V1, 1))  # idempotent
    assert not src.exists()
    qemu_io(str(clone), driver.volume_format, "read -P 0x5a 0 4M")
    qemu_io(str(clone), driver.volume_format, "read -P 0x77 8M 2M")
    qemu_io(str(clone), driver.volume_format, "read -P 0 10M 1M")
    if driver.volume_format == "qcow2":
        qemu_img.run(["check", "-q", "-f", "qcow2", str(clone)])
        # only what the source held above the image was copied
        assert clone.stat().st_blocks * 512 < 8 << 20


def test_snapshot_revert_and_volume_from_snapshot(driver: FileDriver) -> None:
    fmt = driver.volume_format
    driver.create_volume(VolumeRef(V1, 1))
    path = vpath(driver, V1)
    qemu_io(str(path), fmt, "write -P 0x11 0 1M")
    snap = SnapshotRef(S1, V1, 1)
    location = driver.create_snapshot(snap)
    assert location == f"snapshot-{S1}.{fmt}"
    assert driver.snapshot_ids() == [S1]
    qemu_io(str(path), fmt, "write -P 0x22 0 1M")
    driver.create_volume_from_snapshot(VolumeRef(V2, 3), snap)
    qemu_io(str(vpath(driver, V2)), fmt, "read -P 0x11 0 1M")
    assert qemu_img.info(vpath(driver, V2), fmt).virtual_size == 3 * GiB
    driver.revert_to_snapshot(VolumeRef(V1, 1), snap)
    qemu_io(str(path), fmt, "read -P 0x11 0 1M")
    driver.delete_snapshot(snap)
    driver.delete_snapshot(snap)  # idempotent
    assert driver.snapshot_ids() == []
    qemu_io(str(vpath(driver, V2)), fmt, "read -P 0x11 0 1M")  # kept its data
    with pytest.raises(VolumeNotFound):
        driver.create_volume_from_snapshot(VolumeRef(V3, 1), snap)


def test_extend_unattached(driver: FileDriver) -> None:
    driver.create_volume(VolumeRef(V1, 1))
    qemu_io(str(vpath(driver, V1)), driver.volume_format, "write -P 0x33 0 1M")
    driver.extend_volume(VolumeRef(V1, 1), 3)
    driver.extend_volume(VolumeRef(V1, 3), 3)  # idempotent
    assert qemu_img.info(vpath(driver, V1), driver.volume_format).virtual_size == 3 * GiB
    qemu_io(str(vpath(driver, V1)), driver.volume_format, "read -P 0x33 0 1M")


def test_stats(driver: FileDriver) -> None:
    driver.create_volume(VolumeRef(V1, 5))
    qemu_io(str(vpath(driver, V1)), driver.volume_format, "write -P 1 0 16M")
    stats = driver.get_volume_stats({"file1": 5})
    (pool,) = stats.pools
    assert stats.volume_backend_name == "file1"
    assert pool.total_capacity_gb == 100
    assert pool.allocated_capacity_gb == 5
    assert pool.provisioned_capacity_gb == 5
    fs = os.statvfs(driver.directory)
    fs_free = fs.f_bavail * fs.f_frsize / GiB
    assert pool.free_capacity_gb <= min(100.0, fs_free + 0.1)
    # 16 MiB written of 100 GiB configured, and never more than the filesystem has free
    assert pool.free_capacity_gb >= min(99.9, fs_free - 0.5)


def test_copy_volume_to_file(driver: FileDriver, tmp_path: Path) -> None:
    image = make_image(tmp_path)
    driver.create_volume_from_image(VolumeRef(V1, 1), image, "qcow2")
    for disk_format in ("qcow2", "raw"):
        dest = tmp_path / f"upload.{disk_format}"
        driver.copy_volume_to_file(VolumeRef(V1, 1), dest, disk_format)
        info = qemu_img.info(dest, disk_format)
        assert info.backing_file is None  # flattened: the image is standalone
        assert info.virtual_size == GiB
        qemu_io(str(dest), disk_format, "read -P 0x5a 0 4M")


def test_manage_and_unmanage(driver: FileDriver) -> None:
    foreign = driver.directory / "legacy-disk.img"
    subprocess.run(["truncate", "-s", "1500M", str(foreign)], check=True)
    with open(foreign, "r+b") as f:
        f.write(b"\x42" * 4096)
    bad = driver.directory / "chained.qcow2"
    qemu_img.create(bad, "qcow2", GiB, backing=foreign, backing_fmt="raw")
    driver.create_volume(VolumeRef(V1, 1))
    listed = {m.reference["source-name"]: m for m in driver.get_manageable_volumes()}
    assert listed["legacy-disk.img"].safe_to_manage and listed["legacy-disk.img"].size == 2
    assert not listed["chained.qcow2"].safe_to_manage
    managed = listed[vpath(driver, V1).name]
    assert not managed.safe_to_manage and managed.cinder_id == V1
    with pytest.raises(InvalidReference):
        driver.manage_existing(VolumeRef(V2, 1), {"source-name": "chained.qcow2"})
    with pytest.raises(InvalidReference):
        driver.manage_existing(VolumeRef(V2, 1), {"source-name": "../etc/passwd"})
    size, location = driver.manage_existing(VolumeRef(V2, 1), {"source-name": "legacy-disk.img"})
    assert (size, location) == (2, f"volume-{V2}.raw")
    assert sorted(driver.volume_ids()) == sorted([V1, V2])
    qemu_io(str(driver.directory / f"volume-{V2}.raw"), "raw", "read -P 0x42 0 4k")
    driver.unmanage(VolumeRef(V2, 2))
    assert driver.volume_ids() == [V1]
    assert (driver.directory / f"unmanaged-{V2}.raw").exists()


def test_a_restore_target_is_laid_out_for_direct_writes(qcow2_driver: FileDriver) -> None:
    """A volume created for a restore, or created empty just before one, gets its qcow2
    metadata preallocated (the backup service then writes it by its map); a volume
    anything wrote to is left as it is."""
    drv = qcow2_driver
    fresh, written = VolumeRef(str(uuid.uuid4()), 1), VolumeRef(str(uuid.uuid4()), 1)
    for ref in (fresh, written):
        drv.create_volume(ref)
    path_fresh = drv.directory / f"volume-{fresh.id}.qcow2"
    path_written = drv.directory / f"volume-{written.id}.qcow2"
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x11 0 64k", str(path_written)],
                   check=True, capture_output=True)  # fmt: skip
    before = path_written.read_bytes()
    assert never_written(path_fresh) and not never_written(path_written)
    for ref in (fresh, written):
        drv.create_volume_for_restore(ref)
    assert PreallocatedImageFile.open(path_fresh) is not None
    assert path_written.read_bytes() == before
    new = VolumeRef(str(uuid.uuid4()), 1)
    drv.create_volume_for_restore(new)  # POST /volumes with a backup_id
    assert PreallocatedImageFile.open(drv.directory / f"volume-{new.id}.qcow2") is not None
    drv.create_volume_for_restore(new)  # a replay: nothing to redo
