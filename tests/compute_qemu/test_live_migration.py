"""Live migration between two QEMU driver hosts (two state directories on this machine):
a block migration of a running guest whose disks hold random data, checked from inside
the guest before and after, and back while paused; and an abort that leaves the guest
running on the source.

The guest writes 4 MiB of random data into its root disk (past the image, so into the
qcow2 overlay the mirror copies with ``sync=top``) and its raw ephemeral disk, then prints
both checksums, read back from the disks with the page cache dropped, and its uptime every
half second: the destination's console must go on with the same sums and a later uptime.
"""

from __future__ import annotations

import base64
import re
import threading
import time
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compute_qemu.conftest import Harness, cleanup_state, qemu_pids_under
from tinystack.common.qmp import command as qmp
from tinystack.compute.objects import InstanceMeta, LiveMigrateData, MigrationProgress
from tinystack.compute.virt.driver import MigrationAborted
from tinystack.compute.virt.qemu.definition import Definition
from tinystack.compute.virt.qemu.imagecache import FileImageSource

SCRIPT = """#!/bin/sh
for d in vda vdb; do dd if=/dev/urandom of=/dev/$d bs=1M seek=600 count=4 2>/dev/null; done
sync
while true; do
  echo 3 > /proc/sys/vm/drop_caches
  s=""
  for d in vda vdb; do
    s="$s$(dd if=/dev/$d bs=1M skip=600 count=4 2>/dev/null | md5sum | cut -c1-32),"
  done
  echo "SUMS=$s UP=$(cut -d' ' -f1 /proc/uptime)"
  sleep 0.5
done
"""
LINE = re.compile(r"SUMS=([0-9a-f]{32}),([0-9a-f]{32}), UP=([0-9.]+)")


class Host(Harness):
    def __init__(self, state: Path, source: FileImageSource, port_min: int) -> None:
        self.port_min = port_min
        super().__init__(state, source)

    def settings(self):  # type: ignore[no-untyped-def]
        found = super().settings()
        found.vnc_port_min, found.vnc_port_max = self.port_min, self.port_min + 49
        return found


@pytest.fixture(scope="module")
def hosts(
    tmp_path_factory: pytest.TempPathFactory, images: FileImageSource
) -> Iterator[tuple[Host, Host]]:
    states = [tmp_path_factory.mktemp("tsq-lm-src"), tmp_path_factory.mktemp("tsq-lm-dst")]
    try:
        yield Host(states[0], images, 15900), Host(states[1], images, 15950)
    finally:
        for state in states:
            cleanup_state(state)


def _sums(h: Harness, inst: InstanceMeta, after: float = 0.0) -> tuple[str, str, float]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        found = [m for m in LINE.findall(h.console(inst)) if float(m[2]) > after]
        if found:
            return found[-1][0], found[-1][1], float(found[-1][2])
        time.sleep(0.2)
    raise AssertionError(f"no checksums on the console:\n{h.console(inst)[-1500:]}")


def _prepare(src: Host, dst: Host, inst: InstanceMeta) -> LiveMigrateData:
    data = dst.driver.check_can_live_migrate_destination(dst.ctx, inst, None)
    try:
        data = src.driver.check_can_live_migrate_source(src.ctx, inst, data)
    finally:
        dst.driver.cleanup_live_migration_destination_check(dst.ctx, data)
    assert data.block_migration and data.auto_block
    assert not list(dst.driver.settings.instances.glob(".live-migration-probe-*"))
    return dst.driver.pre_live_migration(dst.ctx, inst, [], [], data)


def test_block_migration_keeps_the_guest_and_its_disks(hosts: tuple[Host, Host]) -> None:
    src, dst = hosts
    uuid = str(uuidlib.uuid4())
    user_data = base64.b64encode(SCRIPT.encode()).decode()
    inst = src.instance(uuid, "tsq-lm", ephemeral_gb=1, user_data=user_data)
    src.driver.spawn(src.ctx, inst, [], None)
    before = _sums(src, inst)

    # an abort while the disks are mirrored: the guest stays, the destination is cleaned
    data = _prepare(src, dst, inst)
    assert set(data.disk_targets) == {"drive-vda", "drive-vdb"}

    def abort(report: MigrationProgress) -> None:
        src.driver.live_migration_abort(src.ctx, inst)

    with pytest.raises(MigrationAborted):
        src.driver.live_migration(src.ctx, inst, data, abort)
    dst.driver.rollback_live_migration_at_destination(dst.ctx, inst, [], data)
    assert not (dst.driver.settings.instances / uuid).exists()
    assert not qemu_pids_under(dst.state)
    again = _sums(src, inst, after=before[2])
    assert again[:2] == before[:2]

    # the migration
    data = _prepare(src, dst, inst)
    reports: list[MigrationProgress] = []
    started = time.monotonic()
    final = src.driver.live_migration(src.ctx, inst, data, reports.append)
    dst.driver.post_live_migration_at_destination(dst.ctx, inst, [], data)
    took = time.monotonic() - started
    print(f"\nblock live migration: {took:.1f}s, QEMU's downtime {final.downtime_ms} ms")
    src.driver.post_live_migration(src.ctx, inst, [], data)
    assert final.memory_total >= 256 * 1024**2 and final.memory_processed > 0
    assert final.downtime_ms is not None and final.downtime_ms < 2000, final
    # the raw ephemeral disk whole, of the root only the overlay (the base is on both)
    assert reports and 1024**3 < reports[0].disk_total < 1024**3 + 64 * 1024**2
    assert took < 120, took
    # the source is clean: no QEMU, no directory
    assert not (src.driver.settings.instances / uuid).exists()
    assert not qemu_pids_under(src.state / "instances")
    defn = Definition.load(dst.driver.settings.instances / uuid)
    assert defn is not None
    assert qmp(defn.qmp_socket, "query-status")["status"] == "running"
    after = _sums(dst, inst, after=again[2])
    assert after[:2] == before[:2], (before, after)

    # back to the first host, paused: it stays paused there, and runs on when unpaused
    dst.driver.pause(dst.ctx, inst)
    data = _prepare(dst, src, inst)
    dst.driver.live_migration(dst.ctx, inst, data, reports.append)
    src.driver.post_live_migration_at_destination(src.ctx, inst, [], data)
    dst.driver.post_live_migration(dst.ctx, inst, [], data)
    assert not (dst.driver.settings.instances / uuid).exists()
    defn = Definition.load(src.driver.settings.instances / uuid)
    assert defn is not None
    assert qmp(defn.qmp_socket, "query-status")["status"] == "paused"
    src.driver.unpause(src.ctx, inst)
    back = _sums(src, inst, after=after[2])
    assert back[:2] == before[:2]
    src.driver.destroy(src.ctx, inst, [])


def test_the_check_refuses_shared_instance_directories(hosts: tuple[Host, Host]) -> None:
    src, _ = hosts
    uuid = str(uuidlib.uuid4())
    inst = src.instance(uuid, "tsq-lm-shared")
    src.driver.spawn(src.ctx, inst, [], None)
    try:
        data = src.driver.check_can_live_migrate_destination(src.ctx, inst, None)
    except Exception as exc:  # the instance is here already: that is the refusal
        assert "already" in str(exc)
    else:
        pytest.fail(f"a host took an instance it holds: {data}")
    shared = LiveMigrateData(block_migration=True, probe=".live-migration-probe-tsq")
    probe = src.driver.settings.instances / shared.probe
    probe.touch()
    try:
        with pytest.raises(Exception, match="share their instance directories"):
            src.driver.check_can_live_migrate_source(src.ctx, inst, shared)
    finally:
        probe.unlink()
        src.driver.destroy(src.ctx, inst, [])
    assert threading.active_count() >= 1
