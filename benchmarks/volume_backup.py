"""Volume backup and restore throughput against ``cp`` of the same bytes on the same disk.

    .venv/bin/python benchmarks/volume_backup.py [--dir /var/tmp/tsbench] [--size-gib 1]
        [--data random|mixed] [--format raw|qcow2] [--compression zlib|none]

Like ``network_dataplane.py`` this one runs the data path in-process (the file driver
and the chunked backup driver on a directory), not through a cloud's API: what it
measures is the data path that issue #12's target names ("a 1 GiB backup and restore
at >= 70 % of cp throughput on the same disk"). Steps:

1. a volume of ``--size-gib`` is filled (``random``: incompressible, the worst case for
   the compressor; ``mixed``: a quarter each random, text, zeros and a repeated block);
2. ``cp`` of the volume's file to a file beside it (the page cache as warm as for the
   backup, no fsync — neither does the backup);
3. a full backup to a POSIX container in the same directory, then a restore into a new
   volume, each timed; the restored bytes are compared with the original.

``cp`` (coreutils 9, ``copy_file_range``) copies inside the page cache, so right after the
fill it runs at memory speed; ``--sync`` counts a ``sync`` in every timing (and runs one
before), which measures what reaches the disk — the honest "same disk" comparison.

Everything is made under ``--dir`` (on the disk to measure) and removed at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tinystack.volume.backup.base import BackupRef
from tinystack.volume.backup.chunked import ChunkedBackupDriver
from tinystack.volume.backup.posix import PosixObjectStore
from tinystack.volume.drivers.base import VolumeRef
from tinystack.volume.drivers.file import FileDriver

MiB = 1 << 20


def _block(kind: str, index: int, total: int, rnd: random.Random) -> bytes:
    """The ``index``-th MiB: random, or for ``mixed`` the quarter of the volume it is in
    decides (random, log-like text, zeros, a repeated byte)."""
    if kind == "random":
        return rnd.randbytes(MiB)
    part = index * 4 // total
    if part == 0:
        return rnd.randbytes(MiB)
    if part == 1:
        return (f"line {index} of some log text with numbers {rnd.random()}\n" * 20000).encode()[
            :MiB
        ]
    if part == 2:
        return bytes(MiB)
    return bytes([index % 251]) * MiB


def fill(driver: FileDriver, volume: VolumeRef, kind: str) -> str:
    rnd = random.Random(7)
    digest = hashlib.sha256()
    with driver.open_volume(volume, write=True) as f:
        for i in range(volume.size * 1024):
            block = _block(kind, i, volume.size * 1024, rnd)
            digest.update(block)
            f.write(block)
    return digest.hexdigest()


def volume_digest(driver: FileDriver, volume: VolumeRef) -> str:
    digest = hashlib.sha256()
    with driver.open_volume(volume, write=False) as f:
        while block := f.read(32 * MiB):
            digest.update(block)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default="/var/tmp")
    parser.add_argument("--size-gib", type=int, default=1)
    parser.add_argument("--data", choices=("random", "mixed"), default="random")
    parser.add_argument("--format", choices=("raw", "qcow2"), default="raw")
    parser.add_argument("--compression", choices=("zlib", "none"), default="zlib")
    parser.add_argument("--sync", action="store_true", help="include sync in each timing")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tsbench-vol-", dir=args.dir))
    run_dir = Path(tempfile.mkdtemp(prefix="tsb-", dir="/tmp"))
    driver = FileDriver(work / "vols", 1000, "bench", "127.0.0.1", args.format,
                        nbd_port=0, run_dir=run_dir, watch_interval=None)  # fmt: skip
    try:
        driver.do_setup()
        src, dst = VolumeRef(str(uuid.uuid4()), args.size_gib), VolumeRef(str(uuid.uuid4()), 0)
        dst = VolumeRef(dst.id, args.size_gib)
        driver.create_volume(src)
        expected = fill(driver, src, args.data)
        size = args.size_gib << 30
        src_file = work / "vols" / f"volume-{src.id}.{args.format}"
        finish = os.sync if args.sync else (lambda: None)
        finish()
        started = time.perf_counter()
        subprocess.run(["cp", str(src_file), str(work / "copy")], check=True)
        finish()
        cp_s = time.perf_counter() - started
        (work / "copy").unlink()
        backups = ChunkedBackupDriver(PosixObjectStore(work / "backups"),
                                      compression=args.compression)  # fmt: skip
        ref = BackupRef(str(uuid.uuid4()), src.id, "volumebackups")
        started = time.perf_counter()
        with driver.open_volume(src, write=False) as f:
            result = backups.backup(ref, f, size)
        finish()
        backup_s = time.perf_counter() - started
        ref = BackupRef(ref.id, src.id, result.container, result.service_metadata)
        driver.create_volume(dst)
        finish()
        started = time.perf_counter()
        with driver.open_volume(dst, write=True) as f:
            backups.restore(ref, f, size)
        finish()
        restore_s = time.perf_counter() - started
        assert volume_digest(driver, dst) == expected, "restored data differs"
        gib = size / (1 << 30)
        print(f"data={args.data} format={args.format} compression={args.compression} "
              f"sync={args.sync} size={args.size_gib} GiB "
              f"stored={result.stored_bytes / MiB:.0f} MiB")  # fmt: skip
        print(f"cp      {cp_s:6.2f} s  {gib / cp_s * 1024:7.0f} MiB/s")
        for name, secs in (("backup", backup_s), ("restore", restore_s)):
            print(f"{name:7} {secs:6.2f} s  {gib / secs * 1024:7.0f} MiB/s"
                  f"  {cp_s / secs * 100:5.0f} % of cp")  # fmt: skip
    finally:
        driver.close()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(run_dir, ignore_errors=True)
        os.sync()


if __name__ == "__main__":
    main()
