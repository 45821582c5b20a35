"""A test-only volume driver: raw sparse files in a directory (until the real file driver
is on main). Knobs for fault tests are files in the directory: ``.delay`` (seconds each
create, clone and extend sleeps), ``.fail-create`` (creates fail) and ``.busy`` (deletes
find the volume busy, as a backend does whose volume is still open)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from tinystack.volume.conf import Options
from tinystack.volume.drivers.base import (
    BackendStats,
    ConnectionInfo,
    Connector,
    ManageableVolume,
    PoolStats,
    SnapshotRef,
    VolumeDriver,
    VolumeRef,
)
from tinystack.volume.drivers.errors import VolumeBusy

GIB = 1024**3


class SparseDriver(VolumeDriver):
    def __init__(self, root: Path, capacity_gb: int) -> None:
        self.root = root
        self.capacity_gb = capacity_gb

    def _path(self, volume_id: str) -> Path:
        return self.root / f"volume-{volume_id}"

    def _snap(self, snapshot_id: str) -> Path:
        return self.root / f"snapshot-{snapshot_id}"

    def _delay(self) -> None:
        delay = self.root / ".delay"
        if delay.exists():
            time.sleep(float(delay.read_text() or 0))

    def _knobs(self) -> None:
        self._delay()
        if (self.root / ".fail-create").exists():
            raise RuntimeError("creates fail (test knob)")

    def do_setup(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def get_volume_stats(self, allocated_gb: dict[str, int]) -> BackendStats:
        total = self.capacity_gb or shutil.disk_usage(self.root).total // GIB
        used = sum(p.stat().st_blocks * 512 for p in self.root.glob("*-*")) / GIB
        allocated = float(allocated_gb.get("pool", 0))
        pool = PoolStats(
            pool_name="pool",
            total_capacity_gb=float(total),
            free_capacity_gb=max(0.0, float(total) - used),
            allocated_capacity_gb=allocated,
            provisioned_capacity_gb=allocated,
        )
        return BackendStats("sparse", "tinystack-tests", "1.0", "file", (pool,))

    def create_volume(self, volume: VolumeRef) -> str | None:
        self._knobs()
        with self._path(volume.id).open("ab") as f:
            f.truncate(volume.size * GIB)
        return str(self._path(volume.id))

    def create_volume_from_image(
        self, volume: VolumeRef, image: Path, image_format: str
    ) -> str | None:
        self._knobs()
        subprocess.run(
            ["cp", "--sparse=always", str(image), str(self._path(volume.id))], check=True
        )
        os.truncate(self._path(volume.id), volume.size * GIB)
        return str(self._path(volume.id))

    def create_cloned_volume(self, volume: VolumeRef, source: VolumeRef) -> str | None:
        self._knobs()
        subprocess.run(
            ["cp", "--sparse=always", str(self._path(source.id)), str(self._path(volume.id))],
            check=True,
        )
        os.truncate(self._path(volume.id), volume.size * GIB)
        return str(self._path(volume.id))

    def create_volume_from_snapshot(self, volume: VolumeRef, snapshot: SnapshotRef) -> str | None:
        self._knobs()
        subprocess.run(
            ["cp", "--sparse=always", str(self._snap(snapshot.id)), str(self._path(volume.id))],
            check=True,
        )
        os.truncate(self._path(volume.id), volume.size * GIB)
        return str(self._path(volume.id))

    def delete_volume(self, volume: VolumeRef) -> None:
        self._delay()
        if (self.root / ".busy").exists():
            raise VolumeBusy(f"volume {volume.id} is busy (test knob)")
        self._path(volume.id).unlink(missing_ok=True)

    def extend_volume(self, volume: VolumeRef, new_size: int) -> None:
        self._delay()
        os.truncate(self._path(volume.id), new_size * GIB)

    def create_snapshot(self, snapshot: SnapshotRef) -> str | None:
        subprocess.run(
            [
                "cp",
                "--sparse=always",
                str(self._path(snapshot.volume_id)),
                str(self._snap(snapshot.id)),
            ],
            check=True,
        )
        return None

    def delete_snapshot(self, snapshot: SnapshotRef) -> None:
        self._snap(snapshot.id).unlink(missing_ok=True)

    def revert_to_snapshot(self, volume: VolumeRef, snapshot: SnapshotRef) -> None:
        shutil.copyfile(self._snap(snapshot.id), self._path(volume.id))

    def initialize_connection(
        self, volume: VolumeRef, connector: Connector, attachment_id: str
    ) -> ConnectionInfo:
        return ConnectionInfo("file", {"device_path": str(self._path(volume.id))})

    def terminate_connection(self, volume: VolumeRef, attachment_id: str) -> None:
        return None

    def exports(self) -> list[str]:
        return []

    def volume_ids(self) -> list[str]:
        return [p.name.removeprefix("volume-") for p in self.root.glob("volume-*")]

    def copy_volume_to_file(self, volume: VolumeRef, dest: Path, disk_format: str) -> None:
        self._delay()
        subprocess.run(["cp", "--sparse=always", str(self._path(volume.id)), str(dest)], check=True)

    @contextmanager
    def _open(self, volume: VolumeRef, write: bool) -> Iterator[BinaryIO]:
        with self._path(volume.id).open("r+b" if write else "rb") as stream:
            yield stream

    def open_volume(self, volume: VolumeRef, write: bool):  # type: ignore[no-untyped-def]
        return self._open(volume, write)

    def get_manageable_volumes(self) -> list[ManageableVolume]:
        found = []
        for path in sorted(self.root.glob("unmanaged-*")):
            size = -(-path.stat().st_size // GIB)
            found.append(ManageableVolume({"source-name": path.name}, size, True))
        return found

    def manage_existing(
        self, volume: VolumeRef, reference: dict[str, str]
    ) -> tuple[int, str | None]:
        """Adopt ``unmanaged-*`` files only (after ``.delay``; a replay finds it done)."""
        self._delay()
        name = reference.get("source-name", "")
        source, target = self.root / name, self._path(volume.id)
        if not name.startswith("unmanaged-") or "/" in name:
            raise ValueError(f"not manageable: {name!r}")
        if not source.exists() and target.exists():
            return -(-target.stat().st_size // GIB), None
        size = -(-source.stat().st_size // GIB)
        with source.open("r+b") as f:
            f.truncate(max(size, 1) * GIB)
        os.replace(source, target)
        return max(size, 1), None

    def unmanage(self, volume: VolumeRef) -> None:
        self._delay()
        if self._path(volume.id).exists():
            os.replace(self._path(volume.id), self.root / f"unmanaged-{volume.id}")


def create_driver(opts: Options, state_dir: Path) -> VolumeDriver:
    root = Path(opts.volumes_dir) if opts.volumes_dir else state_dir / "volumes"
    return SparseDriver(root, int(opts.file_capacity_gb))
