"""The ``ceph`` backup driver on its own against the session's cluster, as
``client.cinder-backup`` (the backups pool) reading and writing volumes as
``client.cinder``: a full backup is an image with a snapshot, an incremental one a
snapshot diff written into the same image (only the changed extents move), restores go
into RBD volumes and into files, deletes and interrupted backups leave nothing behind."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.ceph_cluster import CephCluster
from tinystack.common import ceph
from tinystack.volume.backup import ceph as ceph_backup
from tinystack.volume.backup.base import BackupHasDependents, BackupRef
from tinystack.volume.backup.ceph import CephBackupDriver, RbdVolume
from tinystack.volume.backup.chunked import ChunkedBackupDriver
from tinystack.volume.backup.connector import open_device
from tinystack.volume.backup.posix import PosixObjectStore
from tinystack.volume.drivers.base import VolumeRef
from tinystack.volume.drivers.rbd import RbdDriver
from tinystack.volume.payloads import Device

MiB = 1 << 20
SIZE = 64 * MiB


@pytest.fixture
def driver(ceph_cluster: CephCluster) -> CephBackupDriver:
    return CephBackupDriver(ceph_cluster.spec("cinder-backup"), "backups")


@pytest.fixture
def volumes(ceph_cluster: CephCluster) -> RbdDriver:
    made = RbdDriver(ceph_cluster.spec("cinder"), "ceph")
    made.do_setup()
    return made


def _volume(volumes: RbdDriver, size: int = SIZE) -> VolumeRef:
    ref = VolumeRef(str(uuid.uuid4()), 1)
    volumes.create_volume(ref)
    with volumes._image(f"volume-{ref.id}") as image:
        image.resize(size)
    return ref


def _write(volumes: RbdDriver, ref: VolumeRef, offset: int, data: bytes) -> None:
    with volumes._image(f"volume-{ref.id}") as image:
        image.write(data, offset)


def _read(volumes: RbdDriver, ref: VolumeRef) -> bytes:
    with volumes._image(f"volume-{ref.id}", read_only=True) as image:
        return bytes(image.read(0, int(image.size())))


def _source(ref: VolumeRef) -> RbdVolume:
    return RbdVolume("cinder", "volumes", f"volume-{ref.id}")


def _snaps(cluster: CephCluster, pool: str, name: str) -> list[str]:
    with cluster.admin() as rados:
        io = rados.open_ioctx(pool)
        try:
            with ceph.bindings().rbd.Image(io, name, read_only=True) as image:
                return [s["name"] for s in image.list_snaps()]
        finally:
            io.close()


def test_full_incremental_restore_delete(
    driver: CephBackupDriver, volumes: RbdDriver, ceph_cluster: CephCluster, tmp_path: Path
) -> None:
    vol = _volume(volumes)
    _write(volumes, vol, 0, b"A" * MiB)
    _write(volumes, vol, 40 * MiB, b"B" * (2 * MiB))
    full = BackupRef(str(uuid.uuid4()), vol.id, "backups")
    made = driver.backup_rbd(full, _source(vol))
    base = ceph_backup.base_name(vol.id, full.id)
    assert made.service_metadata == f"{base}@backup.{full.id}.snap"
    assert made.stored_bytes == 3 * MiB and made.volume_bytes == SIZE
    assert _snaps(ceph_cluster, "backups", base) == [f"backup.{full.id}.snap"]
    assert _snaps(ceph_cluster, "volumes", f"volume-{vol.id}") == [f"backup.{full.id}.snap"]
    full = BackupRef(full.id, vol.id, "backups", made.service_metadata)
    driver.put_volume_meta(full, b'{"k": "v"}')
    assert driver.get_volume_meta(full) == b'{"k": "v"}'
    expected_full = _read(volumes, vol)

    # an incremental: only the changed extent moves, into the same image
    _write(volumes, vol, 10 * MiB, b"C" * 4096)
    inc = BackupRef(str(uuid.uuid4()), vol.id, "backups")
    made = driver.backup_rbd(inc, _source(vol), full)
    assert made.parent_id == full.id and made.service_metadata.startswith(base + "@")
    # (librbd reports a new object from its start: at most one 4 MiB object here)
    assert 4096 <= made.stored_bytes <= 4 * MiB
    inc = BackupRef(inc.id, vol.id, "backups", made.service_metadata)
    assert _snaps(ceph_cluster, "backups", base) == [
        f"backup.{full.id}.snap",
        f"backup.{inc.id}.snap",
    ]
    # the volume keeps only the newest base snapshot
    assert _snaps(ceph_cluster, "volumes", f"volume-{vol.id}") == [f"backup.{inc.id}.snap"]
    expected_inc = _read(volumes, vol)

    # restore the full one into a new RBD volume, the incremental into a file
    target = _volume(volumes)
    _write(volumes, target, 0, b"junk" * 1024)
    driver.restore_rbd(full, _source(target), new_volume=False)
    assert _read(volumes, target) == expected_full
    out = tmp_path / "restored.raw"
    out.write_bytes(b"x" * SIZE)
    with out.open("r+b") as f:
        driver.restore(inc, f, SIZE)
    assert out.read_bytes() == expected_inc

    # the full one has a dependent; the incremental goes first
    with pytest.raises(BackupHasDependents):
        driver.delete_backup(full)
    driver.delete_backup(inc)
    driver.delete_backup(full)
    assert driver.get_volume_meta(full) is None
    assert _snaps(ceph_cluster, "volumes", f"volume-{vol.id}") == []
    volumes.delete_volume(vol)
    volumes.delete_volume(target)
    usage = ceph_cluster.pool_usage()
    assert usage == {p: [] for p in usage}


def test_file_source_and_interrupted_backups(
    driver: CephBackupDriver, volumes: RbdDriver, ceph_cluster: CephCluster, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # a file volume: a full backup (sparse), restored into an RBD volume
    disk = tmp_path / "disk.raw"
    with disk.open("wb") as w:
        w.write(b"F" * 8192)
        w.seek(20 * MiB)
        w.write(b"G" * 8192)
        w.truncate(32 * MiB)
    backup = BackupRef(str(uuid.uuid4()), str(uuid.uuid4()), "backups")
    with disk.open("rb") as f:
        made = driver.backup(backup, f, 32 * MiB, None)
    assert made.stored_bytes == 2 * (64 << 10) and made.parent_id is None
    target = _volume(volumes, 32 * MiB)
    driver.restore_rbd(backup, _source(target), new_volume=True)
    assert _read(volumes, target) == disk.read_bytes()

    # a backup killed mid-copy: its row never learnt where it went; delete_backup finds
    # the image and the source snapshot by the ids
    vol = _volume(volumes)
    _write(volumes, vol, 0, b"D" * MiB)
    full = BackupRef(str(uuid.uuid4()), vol.id, "backups")
    full = BackupRef(
        full.id, vol.id, "backups", driver.backup_rbd(full, _source(vol)).service_metadata
    )
    _write(volumes, vol, 0, b"E" * MiB)

    def broken(src: object, target: object, size: int, from_snap: str | None) -> int:
        target.write(b"half" * 1024, 0)  # type: ignore[attr-defined]
        raise OSError("killed")

    monkeypatch.setattr(ceph_backup, "_copy_diff", broken)
    cut = BackupRef(str(uuid.uuid4()), vol.id, "backups")
    with pytest.raises(OSError):
        driver.backup_rbd(cut, _source(vol), full)
    cut_full = BackupRef(str(uuid.uuid4()), vol.id, "backups")
    with pytest.raises(OSError):
        driver.backup_rbd(cut_full, _source(vol))
    monkeypatch.undo()
    # a restart's orphan sweep: only `full` has a row
    assert driver.remove_orphans(lambda ids: {i for i in ids if i == full.id}) >= 2
    base = ceph_backup.base_name(vol.id, full.id)
    assert _snaps(ceph_cluster, "backups", base) == [f"backup.{full.id}.snap"]
    assert _snaps(ceph_cluster, "volumes", f"volume-{vol.id}") == [f"backup.{full.id}.snap"]
    # the base image was rolled back: restoring `full` gives D, an incremental works
    out = tmp_path / "r.raw"
    out.write_bytes(bytes(SIZE))
    with out.open("r+b") as rw:
        driver.restore(full, rw, SIZE)
    assert out.read_bytes()[: MiB + 1] == b"D" * MiB + b"\0"
    inc = BackupRef(str(uuid.uuid4()), vol.id, "backups")
    assert MiB <= driver.backup_rbd(inc, _source(vol), full).stored_bytes <= 4 * MiB
    for ref in (inc, full, backup):
        driver.delete_backup(ref)
    volumes.delete_volume(vol)
    volumes.delete_volume(target)
    usage = ceph_cluster.pool_usage()
    assert usage == {p: [] for p in usage}


def test_chunked_backups_of_rbd_volumes(
    volumes: RbdDriver, ceph_cluster: CephCluster, tmp_path: Path
) -> None:
    """The posix (chunked) driver backs up an RBD volume and restores into another one
    through the backup service's connector: librbd as the connection info's user."""
    vol = _volume(volumes, 32 * MiB)
    _write(volumes, vol, 0, b"R" * MiB)
    _write(volumes, vol, 20 * MiB, b"S" * 4096)
    conf = str(ceph_cluster.conf)
    device = Device("rbd", {"name": f"volumes/volume-{vol.id}", "auth_username": "cinder"})
    chunked = ChunkedBackupDriver(PosixObjectStore(tmp_path / "store"), chunk_size=4 * MiB)
    ref = BackupRef(str(uuid.uuid4()), vol.id, "volumebackups")
    with open_device(device, False, tmp_path, conf) as f:
        made = chunked.backup(ref, f, 32 * MiB)
    ref = BackupRef(ref.id, vol.id, "volumebackups", made.service_metadata)
    target = _volume(volumes, 32 * MiB)
    _write(volumes, target, 8 * MiB, b"junk")
    out = Device("rbd", {"name": f"volumes/volume-{target.id}", "auth_username": "cinder"})
    with open_device(out, True, tmp_path, conf) as f:
        chunked.restore(ref, f, 32 * MiB)
    assert _read(volumes, target) == _read(volumes, vol)
    chunked.delete_backup(ref)
    volumes.delete_volume(vol)
    volumes.delete_volume(target)
    usage = ceph_cluster.pool_usage()
    assert usage == {p: [] for p in usage}
