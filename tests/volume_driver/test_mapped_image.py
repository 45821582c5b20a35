"""Reading a qcow2 volume by its map (backups) gives exactly the bytes QEMU gives, and
backups skip its holes; a preallocated volume (a restore's target) written by its map
reads back through QEMU as written."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.volume_driver.conftest import qemu_io
from tinystack.common.nbd import NBDFile
from tinystack.volume.backup.base import BackupRef
from tinystack.volume.backup.chunked import ChunkedBackupDriver
from tinystack.volume.backup.posix import PosixObjectStore
from tinystack.volume.drivers.mapped_image import MappedImageFile, PreallocatedImageFile
from tinystack.volume.drivers.volume_io import open_qcow2, open_raw

MiB = 1 << 20


def qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True, timeout=60)


def guest_bytes(image: Path, tmp_path: Path) -> bytes:
    """The image's guest-visible bytes, as QEMU itself converts them."""
    out = tmp_path / f"{image.stem}.converted.raw"
    qemu_img("convert", "-f", "qcow2", "-O", "raw", str(image), str(out))
    return out.read_bytes()


def read_all(image: Path, run_dir: Path, chunk: int) -> tuple[str, bytes]:
    with open_qcow2(image, run_dir, write=False, shared=False) as f:
        kind = type(f).__name__
        parts = []
        buf = bytearray(chunk)
        while n := f.readinto(buf):  # type: ignore[attr-defined]
            parts.append(bytes(buf[:n]))
        f.seek(5 * MiB - 7)
        tail = f.read(20)
    data = b"".join(parts)
    assert tail == data[5 * MiB - 7 : 5 * MiB + 13]
    return kind, data


def test_a_backing_chain_reads_as_qemu_reads_it(tmp_path: Path, run_dir: Path) -> None:
    base = tmp_path / "base.raw"
    qemu_img("create", "-f", "raw", str(base), "6M")  # smaller than the volume
    qemu_io(str(base), "raw", "write -P 0x11 0 3M")
    mid = tmp_path / "mid.qcow2"
    qemu_img("create", "-f", "qcow2", "-b", str(base), "-F", "raw", str(mid), "12M")
    qemu_io(str(mid), "qcow2", "write -P 0x22 1M 1M")
    top = tmp_path / "top.qcow2"
    qemu_img("create", "-f", "qcow2", "-b", str(mid), "-F", "qcow2", str(top), "16M")
    qemu_io(str(top), "qcow2", "write -P 0x33 1536k 2M")
    qemu_io(str(top), "qcow2", "write -z 2M 512k")  # a zero cluster over data below
    qemu_io(str(top), "qcow2", "write -P 0x44 14M 65k")

    extents = MappedImageFile.open(top)
    assert extents is not None and extents.size == 16 * MiB
    assert {e.depth for e in extents.extents} == {-1, 0, 1, 2}
    extents.close()
    for chunk in (MiB, 3 * MiB + 4096, 32 * MiB):
        kind, data = read_all(top, run_dir, chunk)
        assert kind == "MappedImageFile"
        assert data == guest_bytes(top, tmp_path)


def test_compressed_clusters_are_read_through_the_export(tmp_path: Path, run_dir: Path) -> None:
    raw = tmp_path / "data.raw"
    raw.write_bytes(b"compressible " * (8 * MiB // 13) + bytes(8 * MiB % 13))
    image = tmp_path / "compressed.qcow2"
    qemu_img("convert", "-c", "-f", "raw", "-O", "qcow2", str(raw), str(image))
    assert MappedImageFile.open(image) is None
    kind, data = read_all(image, run_dir, 3 * MiB)
    assert kind == NBDFile.__name__
    assert data == raw.read_bytes()


def test_holes_are_skipped_and_incrementals_still_see_changes(
    tmp_path: Path, run_dir: Path
) -> None:
    """Chunks the map calls zeros are backed up as zero extents without being read; an
    incremental still records data that became a hole (discarded) as changed."""
    image = tmp_path / "vol.qcow2"
    qemu_img("create", "-f", "qcow2", str(image), "8M")
    qemu_io(str(image), "qcow2", "write -P 0x61 1M 512k")
    qemu_io(str(image), "qcow2", "write -P 0x62 5M 1M")
    store = PosixObjectStore(tmp_path / "backups")
    bd = ChunkedBackupDriver(store, chunk_size=MiB, sha_block_size=64 << 10)
    full = BackupRef("b1", "v1", "c1", None)
    with open_qcow2(image, run_dir, write=False, shared=False) as f:
        assert isinstance(f, MappedImageFile)
        assert f.is_zero_range(2 * MiB, 3 * MiB) and not f.is_zero_range(MiB, MiB)
        result = bd.backup(full, f, 8 * MiB)
    assert result.object_count == 2  # chunks 2 and 6; six chunks were holes
    full = BackupRef("b1", "v1", result.container, result.service_metadata)

    qemu_io(str(image), "qcow2", "write -P 0x63 3M 64k")  # a hole gets data
    qemu_io(str(image), "qcow2", "discard 5M 1M")  # data becomes a hole
    inc = BackupRef("b2", "v1", "c1", None)
    with open_qcow2(image, run_dir, write=False, shared=False) as f:
        result = bd.backup(inc, f, 8 * MiB, parent=full)
    assert result.object_count == 1
    inc = BackupRef("b2", "v1", result.container, result.service_metadata)

    target = tmp_path / "restored.raw"
    target.write_bytes(b"\xff" * 8 * MiB)
    with open_raw(target, write=True) as out:
        bd.restore(inc, out, 8 * MiB)
    assert target.read_bytes() == guest_bytes(image, tmp_path)


def test_a_restore_writes_a_preallocated_volume_by_its_map(tmp_path: Path, run_dir: Path) -> None:
    """Data (aligned through O_DIRECT, unaligned through the cache), zero ranges
    punched over old data, a write across the file's two data extents: QEMU reads
    exactly those bytes, the image checks clean and the zeros are holes again."""
    image = tmp_path / "target.qcow2"
    size = 1 << 30  # large enough that the data area is two file extents
    qemu_img("create", "-f", "qcow2", "-o", "preallocation=metadata", str(image), str(size))
    expected = bytearray(16 * MiB)  # the guest bytes of the first 16 MiB
    with open_qcow2(image, run_dir, write=True, shared=False) as f:
        assert isinstance(f, PreallocatedImageFile)
        assert len(f.extents) == 2  # metadata sits between the halves
        split = f.extents[1].start
        f.seek(0)
        f.write(b"\x5a" * 4 * MiB)
        f.seek(MiB)
        f.write_zeroes(MiB)
        f.seek(6 * MiB + 5)
        f.write(b"tail" * 1000)
        f.seek(split - MiB)
        f.write(b"\x77" * 2 * MiB)
        f.flush()
    expected[: 4 * MiB] = b"\x5a" * 4 * MiB
    expected[MiB : 2 * MiB] = bytes(MiB)
    expected[6 * MiB + 5 : 6 * MiB + 4005] = b"tail" * 1000
    got = guest_bytes(image, tmp_path)
    assert got[: 16 * MiB] == bytes(expected)
    assert got[split - MiB : split + MiB] == b"\x77" * 2 * MiB
    assert got.count(0) == size - (3 * MiB + 4000 + 2 * MiB)
    qemu_img("check", str(image))
    with open_qcow2(image, run_dir, write=False, shared=False) as f:
        assert isinstance(f, MappedImageFile)
        assert f.is_zero_range(MiB, MiB) and not f.is_zero_range(0, MiB)


def test_other_images_are_written_through_the_daemon(tmp_path: Path, run_dir: Path) -> None:
    """Not preallocated, or with a backing file: writes go through QEMU's block layer."""
    base = tmp_path / "base.qcow2"
    qemu_img("create", "-f", "qcow2", "-o", "preallocation=metadata", str(base), "8M")
    overlay = tmp_path / "overlay.qcow2"
    qemu_img("create", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(overlay), "8M")
    plain = tmp_path / "plain.qcow2"
    qemu_img("create", "-f", "qcow2", str(plain), "8M")
    for image in (overlay, plain):
        with open_qcow2(image, run_dir, write=True, shared=False) as f:
            assert isinstance(f, NBDFile)
            f.seek(MiB)
            f.write(b"\x42" * MiB)
            f.flush()
        assert guest_bytes(image, tmp_path)[MiB : 2 * MiB] == b"\x42" * MiB
