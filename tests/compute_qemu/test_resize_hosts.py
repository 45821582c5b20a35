"""Resize and cold migration of guests whose disks are in a shared ``instances_path``
(two QEMU driver hosts, two state directories on this machine, one disk directory), with
a volume attached: to the other host and back (revert), to the other host for good
(confirm), and on one host (revert, confirm).

The guest writes 4 MiB of random data into its root disk once (past the image, into the
qcow2 overlay; a later boot finds it there and leaves it), then prints its checksum, read
back with the page cache dropped, the size of each of its disks and its boot id every
half second: every boot after a move must print the same sum, the root disk of the
flavor it runs with, and the volume.
"""

from __future__ import annotations

import base64
import re
import time
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compute_qemu.conftest import Harness, cleanup_state, qemu_pids_under
from tests.compute_qemu.test_live_migration import Host
from tests.network_dataplane.support import PATIENCE
from tinystack.common.rpc.payload import JSON
from tinystack.compute.objects import BlockDevice, InstanceMeta, MigrationMeta
from tinystack.compute.virt.qemu import disks
from tinystack.compute.virt.qemu.definition import Definition
from tinystack.compute.virt.qemu.imagecache import FileImageSource
from tinystack.compute.virt.qemu.machine import OWNER_FILE

ZEROS_MD5 = "b5cfa9d6c8febd618f91ac2843d50a1c"  # of 4 MiB of zeros
SCRIPT = f"""#!/bin/sh
sum() {{ dd if=/dev/vda bs=1M skip=600 count=4 2>/dev/null | md5sum | cut -c1-32; }}
if [ "$(sum)" = "{ZEROS_MD5}" ]; then
  dd if=/dev/urandom of=/dev/vda bs=1M seek=600 count=4 2>/dev/null
  sync
fi
while true; do
  echo 3 > /proc/sys/vm/drop_caches
  d=""
  for b in /sys/block/vd*; do d="$d${{b##*/}}:$(cat $b/size),"; done
  echo "SUM=$(sum) DISKS=$d BOOT=$(cat /proc/sys/kernel/random/boot_id)"
  sleep 0.5
done
"""
LINE = re.compile(r"SUM=([0-9a-f]{32}) DISKS=(\S*) BOOT=([0-9a-f-]{36})")
GiB_SECTORS = 1024**3 // 512
VOLUME_BYTES = 64 * 1024**2
H1, H2 = "tsq-rs-h1", "tsq-rs-h2"


@pytest.fixture(scope="module")
def shared_hosts(
    tmp_path_factory: pytest.TempPathFactory, images: FileImageSource
) -> Iterator[tuple[Host, Host, Path]]:
    """Two hosts whose ``instances_path`` is one directory (VNC ports 21200-21299)."""
    shared = tmp_path_factory.mktemp("tsq-rs-shared")
    states = [tmp_path_factory.mktemp("tsq-rs-h1"), tmp_path_factory.mktemp("tsq-rs-h2")]
    try:
        yield (
            Host(states[0], images, 21200, shared, H1),
            Host(states[1], images, 21250, shared, H2),
            shared,
        )
    finally:
        for state in states:
            cleanup_state(state, test_devices=False)  # no taps: others' are left alone


class Guest:
    """The boots of one guest: each report must come from a boot not seen before."""

    def __init__(self, inst: InstanceMeta) -> None:
        self.inst = inst
        self.boots: set[str] = set()

    def report(self, h: Harness) -> tuple[str, dict[str, int]]:
        """The checksum and the disk sizes (sectors) a new boot of the guest prints."""
        deadline = time.monotonic() + 240 * PATIENCE  # a TCG boot on a loaded machine
        while time.monotonic() < deadline:
            found = [m for m in LINE.findall(h.console(self.inst)) if m[2] not in self.boots]
            if found:
                sums, sizes, boot = found[-1]
                self.boots.add(boot)
                pairs = (item.split(":") for item in sizes.split(",") if item)
                return sums, {name: int(size) for name, size in pairs}
            time.sleep(0.3)
        raise AssertionError(f"no new report on the console:\n{h.console(self.inst)[-1500:]}")


def _volume(path: Path, serial: str) -> dict[str, JSON]:
    return {
        "driver_volume_type": "file",
        "serial": serial,
        "data": {"device_path": str(path), "format": "raw", "access_mode": "rw"},
    }


def _bdm(uuid: str, serial: str, path: Path) -> BlockDevice:
    """The volume as the agent hands it over: connected for the host it starts on."""
    return BlockDevice(
        uuid=f"bdm-{serial[:8]}",
        instance_uuid=uuid,
        source_type="volume",
        device_name="/dev/vdc",
        volume_id=serial,
        connection_info=_volume(path, serial),
    )


def _owner(disk_dir: Path) -> str:
    return (disk_dir / OWNER_FILE).read_text().strip()


def _volume_path(h: Harness, uuid: str) -> str:
    defn = Definition.load(h.driver.settings.instances / uuid)
    assert defn is not None
    [volume] = defn.volume_disks()
    return str(volume.data["device_path"])


def test_resize_across_shared_hosts_revert_then_confirm(
    shared_hosts: tuple[Host, Host, Path],
) -> None:
    src, dst, shared = shared_hosts
    uuid = str(uuidlib.uuid4())
    user_data = base64.b64encode(SCRIPT.encode()).decode()
    inst = src.instance(uuid, "tsq-rs", user_data=user_data)
    bigger = src.instance(uuid, "tsq-rs", memory_mb=320, root_gb=2, user_data=user_data)
    src.driver.spawn(src.ctx, inst, [], None)
    guest = Guest(inst)
    volume = src.state / "volume.raw"
    with open(volume, "wb") as f:
        f.truncate(VOLUME_BYTES)
    link = dst.state / "volume-on-h2.raw"  # what the destination is handed: its own path
    link.symlink_to(volume)
    serial = str(uuidlib.uuid4())
    src.driver.attach_volume(src.ctx, inst, _volume(volume, serial), "/dev/vdc")
    disk_dir, copy = shared / uuid, shared / f"{uuid}_resize"
    root = disk_dir / "disk.qcow2"
    original = root.stat().st_ino
    checksum, sizes = guest.report(src)
    assert checksum != ZEROS_MD5 and sizes["vda"] == GiB_SECTORS
    assert VOLUME_BYTES // 512 in sizes.values()

    # to the other host, reverted: the original disk and flavor are back on the source
    mig = MigrationMeta(str(uuidlib.uuid4()), H1, H2, "resize")
    started = time.monotonic()
    info = src.driver.migrate_disk_and_power_off(src.ctx, inst, mig, bigger.flavor, [])
    assert src.driver.qemu_pid(uuid) is None and not disk_dir.exists()
    assert (copy / "disk.qcow2").stat().st_ino == original  # the source's disk, kept aside
    assert (copy / str(info["shared_probe"])).is_file()
    dst.driver.finish_migration(dst.ctx, bigger, mig, info, [], True, [_bdm(uuid, serial, link)])
    print(f"\nresize to the other host on shared storage: {time.monotonic() - started:.1f}s")
    assert _owner(disk_dir) == H2
    defn = Definition.load(dst.state / "instances" / uuid)
    assert defn is not None and defn.disks == str(disk_dir)
    assert not list((dst.state / "instances" / uuid).glob("disk.*"))
    # not pulled whole: an overlay on the shared image cache, like the source's
    backing = disks.backing_file(root)
    assert backing is not None and Path(backing).parent == shared / "_base"
    assert disks.virtual_size(root) == 2 * 1024**3
    assert _volume_path(dst, uuid) == str(link)
    assert guest.report(dst) == (checksum, {**sizes, "vda": 2 * GiB_SECTORS})

    dst.driver.destroy(dst.ctx, bigger, [])  # the agent's revert_resize on the destination
    assert not qemu_pids_under(dst.state / "instances")
    src.driver.finish_revert_migration(src.ctx, inst, mig, [], True, [_bdm(uuid, serial, volume)])
    assert not copy.exists() and root.stat().st_ino == original
    assert _owner(disk_dir) == H1 and not list(disk_dir.glob(".resize-probe-*"))
    assert disks.virtual_size(root) == 1024**3
    defn = Definition.load(src.state / "instances" / uuid)
    assert defn is not None and defn.flavor["memory_mb"] == 256
    assert _volume_path(src, uuid) == str(volume)
    assert guest.report(src) == (checksum, sizes)

    # to the other host, confirmed: the source's copy goes, the disks stay in instances_path
    mig = MigrationMeta(str(uuidlib.uuid4()), H1, H2, "resize")
    info = src.driver.migrate_disk_and_power_off(src.ctx, inst, mig, bigger.flavor, [])
    dst.driver.finish_migration(dst.ctx, bigger, mig, info, [], True, [_bdm(uuid, serial, link)])
    src.driver.confirm_migration(src.ctx, bigger, mig, [])
    assert not copy.exists() and not (src.state / "instances" / f"{uuid}_resize").exists()
    assert not (src.state / "instances" / uuid).exists()
    assert root.is_file() and _owner(disk_dir) == H2
    assert guest.report(dst) == (checksum, {**sizes, "vda": 2 * GiB_SECTORS})
    dst.driver.destroy(dst.ctx, bigger, [])
    assert not disk_dir.exists() and not qemu_pids_under(dst.state / "instances")


def test_resize_on_one_host_with_shared_instances_path(
    shared_hosts: tuple[Host, Host, Path],
) -> None:
    h, _, shared = shared_hosts
    uuid = str(uuidlib.uuid4())
    user_data = base64.b64encode(SCRIPT.encode()).decode()
    inst = h.instance(uuid, "tsq-rs-one", ephemeral_gb=1, user_data=user_data)
    bigger = h.instance(
        uuid, "tsq-rs-one", memory_mb=320, root_gb=2, ephemeral_gb=1, user_data=user_data
    )
    h.driver.spawn(h.ctx, inst, [], None)
    guest = Guest(inst)
    disk_dir, copy = shared / uuid, shared / f"{uuid}_resize"
    checksum, sizes = guest.report(h)

    mig = MigrationMeta(str(uuidlib.uuid4()), H1, H1, "resize")
    h.driver.migrate_disk_and_power_off(h.ctx, inst, mig, bigger.flavor, [])
    assert {p.name for p in copy.iterdir()} >= {"disk.qcow2", "disk.eph0", "disk.config"}
    h.driver.finish_migration(h.ctx, bigger, mig, {}, [], True)
    assert guest.report(h) == (checksum, {**sizes, "vda": 2 * GiB_SECTORS})
    h.driver.destroy(h.ctx, bigger, [])  # the agent's revert_resize
    h.driver.finish_revert_migration(h.ctx, inst, mig, [], True)
    assert not copy.exists() and disks.virtual_size(disk_dir / "disk.qcow2") == 1024**3
    assert guest.report(h) == (checksum, sizes)

    mig = MigrationMeta(str(uuidlib.uuid4()), H1, H1, "resize")
    h.driver.migrate_disk_and_power_off(h.ctx, inst, mig, bigger.flavor, [])
    h.driver.finish_migration(h.ctx, bigger, mig, {}, [], True)
    h.driver.confirm_migration(h.ctx, bigger, mig, [])
    assert not copy.exists() and not (h.state / "instances" / f"{uuid}_resize").exists()
    assert _owner(disk_dir) == H1
    assert guest.report(h) == (checksum, {**sizes, "vda": 2 * GiB_SECTORS})
    h.driver.destroy(h.ctx, bigger, [])
    assert not disk_dir.exists()
