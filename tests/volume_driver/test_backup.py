"""Chunked backups to a directory, from and to real volumes of the file driver."""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.volume_driver.conftest import make_driver
from tinystack.volume.backup.base import (
    BackupCorrupt,
    BackupError,
    BackupHasDependents,
    BackupRef,
    BackupResult,
)
from tinystack.volume.backup.chunked import ChunkedBackupDriver
from tinystack.volume.backup.posix import PosixObjectStore
from tinystack.volume.drivers.base import VolumeRef
from tinystack.volume.drivers.file import FileDriver
from tinystack.volume.drivers.qemu_img import GiB
from tinystack.volume.drivers.volume_io import open_raw

MiB = 1 << 20
V1 = "11111111-1111-1111-1111-111111111111"
V2 = "22222222-2222-2222-2222-222222222222"
V3 = "33333333-3333-3333-3333-333333333333"
B1 = "b1b1b1b1-0000-0000-0000-000000000001"
B2 = "b2b2b2b2-0000-0000-0000-000000000002"
B3 = "b3b3b3b3-0000-0000-0000-000000000003"


def backup_driver(tmp_path: Path, **kw: object) -> ChunkedBackupDriver:
    store = PosixObjectStore(tmp_path / "backups")
    return ChunkedBackupDriver(store, chunk_size=MiB, **kw)  # type: ignore[arg-type]


def fill(driver: FileDriver, volume_id: str, writes: dict[int, bytes]) -> None:
    with driver.open_volume(VolumeRef(volume_id, 1), write=True) as f:
        for offset, data in writes.items():
            f.seek(offset)
            f.write(data)


def read_all(driver: FileDriver, volume_id: str, size: int = 64 * MiB) -> bytes:
    with driver.open_volume(VolumeRef(volume_id, 1), write=False) as f:
        return f.read(size)


def do_backup(
    bd: ChunkedBackupDriver,
    fd: FileDriver,
    ref: BackupRef,
    parent: BackupRef | None = None,
    size: int = 64 * MiB,
) -> BackupResult:
    with fd.open_volume(VolumeRef(ref.volume_id, 1), write=False) as f:
        return bd.backup(ref, f, size, parent)


def do_restore(bd: ChunkedBackupDriver, fd: FileDriver, ref: BackupRef, volume_id: str) -> None:
    with fd.open_volume(VolumeRef(volume_id, 1), write=True) as f:
        bd.restore(ref, f, 64 * MiB)


def done(ref: BackupRef, result: BackupResult) -> BackupRef:
    return BackupRef(ref.id, ref.volume_id, result.container, result.service_metadata)


def test_full_backup_and_restore(driver: FileDriver, tmp_path: Path) -> None:
    bd = backup_driver(tmp_path)
    driver.create_volume(VolumeRef(V1, 1))
    rnd = random.Random(1)
    text = b"tinystack volume backup " * 40000  # compressible, ~0.9 MiB
    fill(driver, V1, {0: rnd.randbytes(3 * MiB), 10 * MiB: text, 20 * MiB + 5: b"edge"})
    ref = BackupRef(B1, V1, "volumebackups", name="first")
    result = do_backup(bd, driver, ref, size=64 * MiB)
    assert result.volume_bytes == 64 * MiB and result.parent_id is None
    container = bd.store.container("volumebackups")
    meta = json.loads(container.get_object(f"{result.service_metadata}_metadata"))
    stored = [e for e in meta["objects"] if "name" in e]
    assert len(meta["objects"]) == 64  # one extent per chunk
    assert len(stored) == result.object_count == 5  # 3 random, 1 text, 1 edge: zeros not stored
    by_offset = {e["offset"]: e for e in stored}
    assert by_offset[0]["compression"] is None  # random data does not shrink
    assert by_offset[10 * MiB]["compression"] == "zlib"
    assert result.stored_bytes < 4 * MiB + 100_000
    shas = json.loads(container.get_object(f"{result.service_metadata}_sha256file"))
    assert len(shas["sha256s"]) == 64 * MiB // (32 << 10)
    # restore into a volume holding other data: every byte, zeros included, comes back
    driver.create_volume(VolumeRef(V2, 1))
    fill(driver, V2, {30 * MiB: b"\xff" * MiB})
    do_restore(bd, driver, done(ref, result), V2)
    assert read_all(driver, V2) == read_all(driver, V1)


def test_compression_none(qcow2_driver: FileDriver, tmp_path: Path) -> None:
    bd = backup_driver(tmp_path, compression="none")
    qcow2_driver.create_volume(VolumeRef(V1, 1))
    fill(qcow2_driver, V1, {0: b"a" * MiB})
    result = do_backup(bd, qcow2_driver, BackupRef(B1, V1, "c"))
    assert result.stored_bytes == MiB


def test_incremental_chain(qcow2_driver: FileDriver, tmp_path: Path) -> None:
    fd, bd = qcow2_driver, backup_driver(tmp_path)
    fd.create_volume(VolumeRef(V1, 1))
    rnd = random.Random(2)
    fill(fd, V1, {0: rnd.randbytes(8 * MiB)})
    full_state = read_all(fd, V1)
    full = BackupRef(B1, V1, "c")
    full = done(full, do_backup(bd, fd, full))
    # change 40 KiB across two sub-blocks, zero one MiB, add data further on
    fill(fd, V1, {100_000: rnd.randbytes(40_000), 2 * MiB: bytes(MiB), 40 * MiB: b"new"})
    incr_state = read_all(fd, V1)
    incr = BackupRef(B2, V1, "c")
    result = do_backup(bd, fd, incr, parent=full)
    incr = done(incr, result)
    assert result.parent_id == B1
    assert result.stored_bytes < 200_000  # only the changed sub-blocks
    fill(fd, V1, {5 * MiB: b"third"})
    third = BackupRef(B3, V1, "c")
    third = done(third, do_backup(bd, fd, third, parent=incr))
    for ref, state in ((full, full_state), (incr, incr_state)):
        fd.create_volume(VolumeRef(V2, 1))
        do_restore(bd, fd, ref, V2)
        assert read_all(fd, V2) == state
        fd.delete_volume(VolumeRef(V2, 1))
    fd.create_volume(VolumeRef(V3, 1))
    do_restore(bd, fd, third, V3)
    assert read_all(fd, V3) == read_all(fd, V1)
    # deleting a backup that others are based on is refused, from the newest it works
    with pytest.raises(BackupHasDependents):
        bd.delete_backup(full)
    with pytest.raises(BackupHasDependents):
        bd.delete_backup(incr)
    for ref in (third, incr, full):
        bd.delete_backup(ref)
        bd.delete_backup(ref)  # a replay
    assert bd.store.container("c").list_objects() == []


def test_corruption_is_detected(raw_volume: tuple[FileDriver, Path], tmp_path: Path) -> None:
    fd, _ = raw_volume
    bd = backup_driver(tmp_path)
    ref = BackupRef(B1, V1, "c")
    ref = done(ref, do_backup(bd, fd, ref))
    container = bd.store.container("c")
    name = next(n for n in container.list_objects() if n.endswith("-00001"))
    data = bytearray(container.get_object(name))
    data[100] ^= 0xFF
    container.put_object(name, bytes(data))
    fd.create_volume(VolumeRef(V2, 1))
    with pytest.raises(BackupCorrupt, match="hash"):
        do_restore(bd, fd, ref, V2)
    container.delete_object(name)
    with pytest.raises(BackupCorrupt, match="missing"):
        do_restore(bd, fd, ref, V2)


@pytest.fixture
def raw_volume(tmp_path: Path, run_dir: Path) -> Iterator[tuple[FileDriver, Path]]:
    fd = make_driver(tmp_path / "vols", run_dir, "raw")
    fd.create_volume(VolumeRef(V1, 1))
    fill(fd, V1, {0: os.urandom(2 * MiB), 7 * MiB: b"x" * 1000})
    try:
        yield fd, fd.directory / f"volume-{V1}.raw"
    finally:
        fd.close()


def test_export_and_import_record(raw_volume: tuple[FileDriver, Path], tmp_path: Path) -> None:
    fd, _ = raw_volume
    bd = backup_driver(tmp_path)
    ref = BackupRef(B1, V1, "c", name="n1", description="d1")
    ref = done(ref, do_backup(bd, fd, ref))
    record = bd.export_record(ref)
    assert json.loads(record)["backup_id"] == B1
    imported = bd.import_record(record)
    assert imported == BackupRef(B1, V1, "c", ref.service_metadata, "n1", "d1")
    with pytest.raises(BackupError):
        bd.import_record("{not json")
    container = bd.store.container("c")
    container.delete_object(next(n for n in container.list_objects() if n.endswith("-00001")))
    with pytest.raises(BackupCorrupt):
        bd.import_record(record)


def test_interrupted_backup_is_cleaned_and_small_target_refused(
    raw_volume: tuple[FileDriver, Path], tmp_path: Path
) -> None:
    fd, path = raw_volume
    bd = backup_driver(tmp_path)
    ref = BackupRef(B1, V1, "c")
    head = path.read_bytes()[: 2 * MiB]

    class Dies:
        """A volume file that fails after the first chunks (a crash mid-backup)."""

        def __init__(self) -> None:
            self.pos = 0

        def read(self, n: int) -> bytes:
            if self.pos >= 2 * MiB:
                raise OSError("disk gone")
            self.pos += n
            return head[self.pos - n : self.pos]

    with pytest.raises(OSError):
        bd.backup(ref, Dies(), 64 * MiB)  # type: ignore[arg-type]
    assert bd.store.container("c").list_objects() != []
    with pytest.raises(BackupCorrupt), open(path, "r+b") as target:
        bd.restore(ref, target, 64 * MiB)
    bd.delete_backup(ref)  # the row never learned service_metadata: the prefix is known
    assert bd.store.container("c").list_objects() == []
    ref = done(ref, do_backup(bd, fd, ref))
    with pytest.raises(BackupError, match="only"), open(path, "r+b") as small:
        bd.restore(ref, small, MiB)


def test_restore_to_a_new_qcow2_stays_sparse(qcow2_driver: FileDriver, tmp_path: Path) -> None:
    fd, bd = qcow2_driver, backup_driver(tmp_path)
    fd.create_volume(VolumeRef(V1, 1))
    fill(fd, V1, {0: b"\x01" * MiB})
    ref = BackupRef(B1, V1, "c")
    with fd.open_volume(VolumeRef(V1, 1), write=False) as f:
        ref = done(ref, bd.backup(ref, f, GiB))
    fd.create_volume(VolumeRef(V2, 1))
    with fd.open_volume(VolumeRef(V2, 1), write=True) as f:
        bd.restore(ref, f, GiB)
    path = fd.directory / f"volume-{V2}.qcow2"
    assert path.stat().st_blocks * 512 < 8 * MiB
    assert read_all(fd, V2, 2 * MiB) == b"\x01" * MiB + bytes(MiB)


def test_raw_volume_holes_are_found_and_objects_of_any_size_kept(
    raw_volume: tuple[FileDriver, Path], tmp_path: Path
) -> None:
    """A raw volume's holes (SEEK_DATA) are skipped like a qcow2 map's zeros; the POSIX
    store writes objects O_DIRECT with a buffered tail, or buffered where O_DIRECT is
    refused (tmpfs), and every size reads back whole."""
    fd, path = raw_volume
    with open_raw(path, write=False) as f:
        zero = f.is_zero_range  # type: ignore[attr-defined]
        assert not zero(0, MiB) and not zero(7 * MiB, MiB)
        assert zero(8 * MiB, 56 * MiB) and zero(63 * MiB, 10 * MiB)
    bd = backup_driver(tmp_path)
    result = do_backup(bd, fd, BackupRef(B1, V1, "c"))
    assert result.object_count == 3  # 2 MiB random, the 1000 bytes
    fd.create_volume(VolumeRef(V2, 1))
    do_restore(bd, fd, done(BackupRef(B1, V1, "c"), result), V2)
    assert read_all(fd, V2) == read_all(fd, V1)
    roots = [tmp_path / "objects"]
    if Path("/dev/shm").is_dir():
        roots.append(Path(tempfile.mkdtemp(dir="/dev/shm")))
    try:
        for root in roots:
            container = PosixObjectStore(root).container("c")
            for size in (0, 1, 4095, 4096, 4097, 3 * MiB + 17):
                data = os.urandom(size)
                container.put_object(f"v/o{size}", data)
                container.put_object(f"v/m{size}", memoryview(bytearray(data)))
                assert container.get_object(f"v/o{size}") == data
                assert bytes(container.read_object(f"v/m{size}", bytearray(4 * MiB))) == data
    finally:
        shutil.rmtree(roots[-1], ignore_errors=True)


def test_a_chunk_cut_off_mid_write_goes_with_its_backup(tmp_path: Path) -> None:
    """kill -9 during a chunk's write leaves its ``.tmp-`` file: deleting the backup (or
    its orphan sweep) removes it too, and nothing of another backup."""
    container = PosixObjectStore(tmp_path).container("volumebackups")
    container.put_object("volume_v/20261206/az_nova_backup_b1-00001", b"done")
    cut = tmp_path / "volumebackups/volume_v/20261206/.tmp-az_nova_backup_b1-00002"
    other = tmp_path / "volumebackups/volume_v/20261206/.tmp-az_nova_backup_b2-00001"
    cut.write_bytes(b"half")
    other.write_bytes(b"writing")
    assert container.list_objects("volume_v/") == ["volume_v/20261206/az_nova_backup_b1-00001"]
    container.delete_object("volume_v/20261206/az_nova_backup_b1-00001")
    container.discard_partials("volume_v/20261206/az_nova_backup_b1")
    assert not cut.exists() and other.exists()
