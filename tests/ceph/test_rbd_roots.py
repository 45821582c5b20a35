"""RBD root disks (``[compute] images_type = rbd``) through the QEMU driver's moves, against
the session's cluster: a resize grows the shared disk in place after Nova's ``nova-resize``
snapshot, a revert rolls the disk back to it (the destination's cleanup keeps the disk),
a confirm drops it; rescue boots the instance's image beside the RBD root; rebuild gives
a new root disk; a live migration between two hosts moves the memory only (the disk is
shared) and neither side's cleanup removes the disk the guest runs on; an evacuation
starts the guest on another host from the same disk (its data kept, also through a failed
attempt) and the evacuated host's cleanup removes its own files only.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import time
import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.ceph_cluster import CephCluster
from tests.compute_qemu.conftest import SKIP as QEMU_SKIP
from tests.compute_qemu.conftest import Harness, cleanup_state, qemu_pids_under
from tinystack.common import ceph
from tinystack.common.qmp import command as qmp
from tinystack.compute import states
from tinystack.compute.objects import FlavorMeta, InstanceMeta, MigrationMeta
from tinystack.compute.virt.driver import DriverError
from tinystack.compute.virt.qemu.definition import Definition
from tinystack.compute.virt.qemu.imagecache import FileImageSource
from tinystack.compute.virt.qemu.rbd_roots import disk_name
from tinystack.compute.virt.qemu.settings import QemuSettings

GiB = 1024**3
SECRET_UUID = str(uuidlib.uuid4())
#: the guest writes 4 MiB of random data into its root disk (at its first boot from it:
#: a marker says it did), then prints its checksum (read back with the page cache
#: dropped) and its uptime every half second
SCRIPT = """#!/bin/sh
if [ "$(dd if=/dev/vda bs=1M skip=599 count=1 2>/dev/null | head -c 7)" != WRITTEN ]; then
  dd if=/dev/urandom of=/dev/vda bs=1M seek=600 count=4 2>/dev/null
  printf WRITTEN | dd of=/dev/vda bs=1M seek=599 2>/dev/null
fi
sync
while true; do
  echo 3 > /proc/sys/vm/drop_caches
  echo "SUM=$(dd if=/dev/vda bs=1M skip=600 count=4 2>/dev/null | md5sum | cut -c1-32)" \
       "UP=$(cut -d' ' -f1 /proc/uptime)"
  sleep 0.5
done
"""
LINE = re.compile(r"SUM=([0-9a-f]{32}) UP=([0-9.]+)")


class RbdHost(Harness):
    """A QEMU driver host whose root disks are RBD images in the cluster's ``vms``."""

    def __init__(
        self, state: Path, source: FileImageSource, cluster: CephCluster, port_min: int
    ) -> None:
        self.cluster = cluster
        self.port_min = port_min
        super().__init__(state, source)

    def settings(self) -> QemuSettings:
        found = super().settings()
        found.vnc_port_min, found.vnc_port_max = self.port_min, self.port_min + 49
        found.images_type = "rbd"
        found.images_rbd_ceph_conf = str(self.cluster.conf)
        found.rbd_user = "cinder"
        found.rbd_keyring = str(self.cluster.keyring("cinder"))
        found.rbd_secret_uuid = SECRET_UUID
        return found


@pytest.fixture(scope="module")
def hosts(
    tmp_path_factory: pytest.TempPathFactory, images: FileImageSource, ceph_cluster: CephCluster
) -> Iterator[tuple[RbdHost, RbdHost]]:
    if QEMU_SKIP:
        pytest.skip(QEMU_SKIP)
    states = [tmp_path_factory.mktemp("tsq-rbd-a"), tmp_path_factory.mktemp("tsq-rbd-b")]
    try:
        yield (
            RbdHost(states[0], images, ceph_cluster, 21500),
            RbdHost(states[1], images, ceph_cluster, 21550),
        )
    finally:
        for state in states:
            cleanup_state(state, test_devices=False)


def root(cluster: CephCluster, uuid: str) -> dict[str, Any] | None:
    """The root disk's size, snapshots and first bytes (None when it is gone)."""
    rbd = ceph.bindings().rbd
    with ceph.ioctx(cluster.spec("cinder"), "vms") as io:
        try:
            with rbd.Image(io, disk_name(uuid), read_only=True) as disk:
                snaps = sorted(s["name"] for s in disk.list_snaps())
                size = int(disk.size())
                at_1g = bytes(disk.read(GiB, 8)) if size > GiB else b""
                return {"size": size, "snaps": snaps, "at_1g": at_1g}
        except rbd.ImageNotFound:
            return None


def write_at_1g(cluster: CephCluster, uuid: str, data: bytes) -> None:
    """Write past the first GiB (what a guest of the bigger flavor could have written)."""
    with (
        ceph.ioctx(cluster.spec("cinder"), "vms") as io,
        ceph.bindings().rbd.Image(io, disk_name(uuid)) as disk,
    ):
        disk.write(data, GiB)


def running(h: Harness, uuid: str) -> str:
    """The running QEMU's command line (asserting it runs)."""
    pid = h.driver.qemu_pid(uuid)
    assert pid is not None, f"{uuid} does not run"
    return h.started_with(uuid, pid)


def test_resize_rescue_rebuild(hosts: tuple[RbdHost, RbdHost], ceph_cluster: CephCluster) -> None:
    h, _ = hosts
    uuid = str(uuidlib.uuid4())
    inst = h.instance(uuid, "tsq-rbd-moves")
    h.driver.spawn(h.ctx, inst, [], None)
    assert root(ceph_cluster, uuid) == {"size": GiB, "snaps": [], "at_1g": b""}
    assert f'"image":"{disk_name(uuid)}"' in running(h, uuid)
    bigger = replace(
        inst,
        flavor=FlavorMeta(flavorid="f-big", name="test.big", vcpus=1, memory_mb=256, root_gb=2),
    )
    migration = MigrationMeta(str(uuidlib.uuid4()), h.driver.hostname, h.driver.hostname, "resize")

    # resize, then revert: the disk grew in place after the nova-resize snapshot; the
    # destination's cleanup keeps it, the revert rolls data and size back
    info = h.driver.migrate_disk_and_power_off(h.ctx, inst, migration, bigger.flavor, [])
    h.driver.finish_migration(h.ctx, bigger, migration, info, [], True)
    assert root(ceph_cluster, uuid) == {
        "size": 2 * GiB,
        "snaps": ["nova-resize"],
        "at_1g": b"\0" * 8,
    }
    write_at_1g(ceph_cluster, uuid, b"BIGGER!!")
    h.driver.destroy(h.ctx, replace(bigger, task_state="resize_reverting"), [])
    h.driver.finish_revert_migration(h.ctx, inst, migration, [], True)
    assert root(ceph_cluster, uuid) == {"size": GiB, "snaps": [], "at_1g": b""}
    running(h, uuid)

    # resize, then confirm: the snapshot goes, the size stays
    info = h.driver.migrate_disk_and_power_off(h.ctx, inst, migration, bigger.flavor, [])
    h.driver.finish_migration(h.ctx, bigger, migration, info, [], True)
    write_at_1g(ceph_cluster, uuid, b"BIGGER!!")
    h.driver.confirm_migration(h.ctx, bigger, migration, [])
    assert root(ceph_cluster, uuid) == {"size": 2 * GiB, "snaps": [], "at_1g": b"BIGGER!!"}
    running(h, uuid)

    # rescue with the instance's own image (the RBD root has no cached base of its own)
    h.driver.rescue(h.ctx, bigger, [], None, None)
    args = running(h, uuid)
    assert "disk.rescue" in args and f'"image":"{disk_name(uuid)}"' in args
    h.driver.unrescue(h.ctx, bigger)
    assert "disk.rescue" not in running(h, uuid)

    # rebuild: a new root disk from the image
    h.driver.rebuild(h.ctx, bigger, [], None)
    assert root(ceph_cluster, uuid) == {"size": 2 * GiB, "snaps": [], "at_1g": b"\0" * 8}
    running(h, uuid)
    h.driver.destroy(h.ctx, bigger, [])
    assert root(ceph_cluster, uuid) is None


def _sum(h: Harness, inst: InstanceMeta, after: float = 0.0) -> tuple[str, float]:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        found = [m for m in LINE.findall(h.console(inst)) if float(m[1]) > after]
        if found:
            return found[-1][0], float(found[-1][1])
        time.sleep(0.5)
    raise AssertionError(f"no checksum on the console:\n{h.console(inst)[-1500:]}")


def test_live_migration_moves_memory_only(
    hosts: tuple[RbdHost, RbdHost], ceph_cluster: CephCluster
) -> None:
    src, dst = hosts
    uuid = str(uuidlib.uuid4())
    user_data = base64.b64encode(SCRIPT.encode()).decode()
    inst = src.instance(uuid, "tsq-rbd-lm", user_data=user_data)
    src.driver.spawn(src.ctx, inst, [], None)
    before = _sum(src, inst)

    data = dst.driver.check_can_live_migrate_destination(dst.ctx, inst, None)
    try:
        data = src.driver.check_can_live_migrate_source(src.ctx, inst, data)
    finally:
        dst.driver.cleanup_live_migration_destination_check(dst.ctx, data)
    assert not data.block_migration  # the root disk is shared: no disk to copy
    data = dst.driver.pre_live_migration(dst.ctx, inst, [], [], data)
    assert data.disk_targets == {}
    started = time.monotonic()
    final = src.driver.live_migration(src.ctx, inst, data, lambda _report: None)
    dst.driver.post_live_migration_at_destination(dst.ctx, inst, [], data)
    took = time.monotonic() - started
    print(f"\nlive migration of an RBD-rooted guest: {took:.1f}s, downtime {final.downtime_ms} ms")
    src.driver.post_live_migration(src.ctx, inst, [], data)
    assert final.disk_total == 0 and final.memory_processed > 0
    assert not (src.driver.settings.instances / uuid).exists()
    assert not qemu_pids_under(src.state / "instances")
    assert root(ceph_cluster, uuid) is not None  # the source's cleanup kept it
    defn = Definition.load(dst.driver.settings.instances / uuid)
    assert defn is not None and defn.root_rbd is not None
    assert qmp(defn.qmp_socket, "query-status")["status"] == "running"
    after = _sum(dst, inst, after=before[1])
    assert after[0] == before[0], (before, after)
    dst.driver.destroy(dst.ctx, inst, [])
    assert root(ceph_cluster, uuid) is None


def test_evacuation_starts_the_guest_from_its_rbd_root(
    hosts: tuple[RbdHost, RbdHost], ceph_cluster: CephCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Host A dies; B sees the root disk in the pool and starts the guest from it (a failed
    attempt keeps it); A's cleanup when it comes back keeps it and removes A's files."""
    src, dst = hosts
    uuid = str(uuidlib.uuid4())
    user_data = base64.b64encode(SCRIPT.encode()).decode()
    inst = src.instance(uuid, "tsq-rbd-evac", user_data=user_data)
    src.driver.spawn(src.ctx, inst, [], None)
    before = _sum(src, inst)
    pid = src.driver.qemu_pid(uuid)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # the host dies
    deadline = time.monotonic() + 10
    while src.driver.qemu_pid(uuid) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert dst.driver.instance_on_disk(dst.ctx, inst)
    assert not dst.driver.instance_on_disk(dst.ctx, replace(inst, uuid=str(uuidlib.uuid4())))
    evac = replace(inst, task_state=states.Task.REBUILD_SPAWNING)

    def boom(*_args: Any, **_kwargs: Any) -> None:
        raise DriverError("QEMU would not start")

    monkeypatch.setattr(dst.driver.vm, "start", boom)
    with pytest.raises(DriverError):
        dst.driver.spawn(dst.ctx, evac, [], None)
    monkeypatch.undo()
    assert root(ceph_cluster, uuid) is not None  # the failed attempt kept it
    assert not (dst.driver.settings.instances / uuid).exists()

    dst.driver.spawn(dst.ctx, evac, [], None)
    assert f'"image":"{disk_name(uuid)}"' in running(dst, uuid)
    after = _sum(dst, inst)
    assert after[0] == before[0], (before, after)  # the data written on A is there

    # A comes back: what clean_up_evacuated does (the disk is on shared storage)
    assert src.driver.instance_on_disk(src.ctx, inst)
    src.driver.destroy(src.ctx, inst, [], destroy_disks=False)
    assert root(ceph_cluster, uuid) is not None
    assert not (src.driver.settings.instances / uuid).exists()
    running(dst, uuid)
    dst.driver.destroy(dst.ctx, inst, [])
    assert root(ceph_cluster, uuid) is None
