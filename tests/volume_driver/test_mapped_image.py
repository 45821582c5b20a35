"""Reading a qcow2 volume by its map (backups) gives exactly the bytes QEMU gives."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.volume_driver.conftest import qemu_io
from tinystack.volume.drivers.mapped_image import MappedImageFile
from tinystack.volume.drivers.nbd_client import NBDFile
from tinystack.volume.drivers.volume_io import open_qcow2

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
